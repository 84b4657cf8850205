// Package zoo holds kconv's builtin architectures, so that the canonical
// models can be summarized, run and converted without a file, and
// identifies weights-only files by them.
//
// Builtins: fast.ai's Keras 1 VGG16 ("vgg16"), torchvision's VGG16
// ("vgg16_torchvision"), and keras.applications' VGG16 ("vgg16_keras"),
// VGG19, ResNet50 (current and Keras <= 2.2.4 "resnet50_legacy"),
// MobileNet, MobileNetV2, DenseNet121, InceptionV3 and Xception with
// Keras's layer names, layer order and parameter counts. Their variants are
// named by suffixes (ParseVariant): "_notop", "_avg", "_max" without the
// top, "_th" in Theano ordering; Go code sets every keras.applications
// argument through App.Build and AppConfig.
//
// Identify matches a weights-only file's list of layers and weight shapes
// against every builtin variant (Layout gives a builtin's list as a file
// stores it). RandomWeights and LazyRandomWeights give seeded weights.
package zoo
