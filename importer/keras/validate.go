package keras

import (
	"fmt"
	"slices"
	"strings"

	"github.com/kconv/kconv/ir"
)

// enumAttrs lists the string attributes with a closed set of values, as
// Keras validates them (keras.backend.standardize_data_format,
// standardize_padding; Keras 1's dim_ordering and border_mode). An unknown
// value is an error, never the default. Padding is checked only where it
// is a string (ZeroPadding2D's padding is numbers).
var enumAttrs = map[string][]string{
	ir.KeyDataFormat.Name:   {"channels_first", "channels_last"},
	ir.KeyDataFormat.Old[0]: {"th", "tf", "default"},
	ir.KeyPadding.Name:      {"valid", "same", "causal", "full"},
	ir.KeyPadding.Old[0]:    {"valid", "same", "full"},
}

// positiveAttrs are integer (or integer-tuple) attributes whose every value
// Keras requires to be at least 1.
var positiveAttrs = slices.Concat(ir.KeyStrides.Read(), ir.KeyDilation.Read(), ir.KeyKernelSize.Read(),
	ir.KeyPoolSize.Read(), ir.KeyGroups.Read(), ir.KeyDepthMultiplier.Read(), ir.KeySize.Read())

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
			if key == ir.KeyPadding.Name {
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
