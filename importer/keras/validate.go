package keras

import (
	"fmt"
	"strings"
)

// enumAttrs lists the string attributes with a closed set of values, as
// Keras validates them (keras.backend.standardize_data_format,
// standardize_padding; Keras 1's dim_ordering and border_mode). An unknown
// value is an error, never the default. Padding is checked only where it
// is a string (ZeroPadding2D's padding is numbers).
var enumAttrs = map[string][]string{
	"data_format":  {"channels_first", "channels_last"},
	"dim_ordering": {"th", "tf", "default"},
	"padding":      {"valid", "same", "causal", "full"},
	"border_mode":  {"valid", "same", "full"},
}

// positiveAttrs are integer (or integer-tuple) attributes whose every value
// Keras requires to be at least 1.
var positiveAttrs = []string{
	"strides", "subsample", "dilation_rate", "atrous_rate", "kernel_size",
	"pool_size", "groups", "depth_multiplier", "nb_row", "nb_col", "size",
}

// validateAttrs checks the attributes shared by many layer classes before
// any layer reads them, so that no reader can turn a bad value into its
// default. Errors name the attribute; the caller adds the layer.
func validateAttrs(c obj) error {
	for key, allowed := range enumAttrs {
		v, ok := c[key]
		if !ok || v == nil {
			continue
		}
		s, isStr := v.(string)
		if !isStr {
			if key == "padding" {
				continue // numbers (ZeroPadding2D), checked by its reader
			}
			return fmt.Errorf("attribute %s must be one of %s, got %s", key, strings.Join(allowed, ", "), show(v))
		}
		ok = false
		for _, a := range allowed {
			if strings.EqualFold(s, a) {
				ok = true
			}
		}
		if !ok {
			return fmt.Errorf("attribute %s %q is not one of %s", key, s, strings.Join(allowed, ", "))
		}
	}
	for _, key := range positiveAttrs {
		v, ok := c[key]
		if !ok || v == nil {
			continue
		}
		ns, err := toInts(v, "attribute "+key)
		if err != nil {
			return err
		}
		for _, n := range ns {
			if n < 1 {
				return fmt.Errorf("attribute %s %s: every value must be at least 1", key, show(v))
			}
		}
	}
	return nil
}
