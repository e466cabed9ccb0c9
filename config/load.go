package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"

	"gopkg.in/yaml.v3"
)

// KeyError names the key (dotted path) and line of a bad configuration value.
type KeyError struct {
	Key  string
	Line int
	Msg  string
}

func (e *KeyError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("line %d: %s: %s", e.Line, e.Key, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.Key, e.Msg)
}

// Options change how a configuration is checked.
type Options struct {
	// AllowShortRetention lets tests and demos keep less than the 30 days
	// NVMS-6.10 requires.
	AllowShortRetention bool
}

// LoadFile reads and checks a configuration file.
func LoadFile(path string, o Options) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	c, err := Parse(b, o)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// Parse decodes YAML strictly, fills defaults and validates.
func Parse(b []byte, o Options) (*Config, error) {
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("empty configuration")
		}
		return nil, fmt.Errorf("yaml: %w", err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, fmt.Errorf("line %d: only one YAML document is allowed", extra.Line)
	}
	lines := map[string]int{}
	doc := &root
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		doc = doc.Content[0]
	}
	if err := checkKeys(doc, reflect.TypeOf(Config{}), "", lines); err != nil {
		return nil, err
	}
	var c Config
	if err := doc.Decode(&c); err != nil {
		return nil, explainDecode(err, lines)
	}
	c.applyDefaults()
	c.applyCapDefaults(doc)
	if err := c.validate(lines, o.AllowShortRetention); err != nil {
		return nil, err
	}
	return &c, nil
}

// applyCapDefaults caps fragment downloads unless the file says otherwise:
// a cap left out (or left empty) gets its default, while 0 written out
// means no cap, so the zero value cannot stand for both.
func (c *Config) applyCapDefaults(doc *yaml.Node) {
	f := &c.Federation.Fragments
	if !given(doc, "federation", "fragments", "child_mbps") {
		f.ChildMbps = DefaultChildMbps
	}
	if !given(doc, "federation", "fragments", "total_mbps") {
		f.TotalMbps = DefaultTotalMbps
	}
}

// given reports whether the mapping path leads to a value that is not null.
func given(n *yaml.Node, path ...string) bool {
	for _, key := range path {
		for n != nil && n.Kind == yaml.AliasNode {
			n = n.Alias
		}
		if n == nil || n.Kind != yaml.MappingNode {
			return false
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				next = n.Content[i+1]
			}
		}
		n = next
	}
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n != nil && n.Tag != "!!null"
}

// checkKeys walks the YAML tree against the struct's yaml tags, rejecting
// unknown keys and recording each key's line.
func checkKeys(n *yaml.Node, t reflect.Type, path string, lines map[string]int) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if _, ok := reflect.New(t).Interface().(yaml.Unmarshaler); ok {
		return nil // scalar types with their own parser
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
			return nil
		}
		if n.Kind != yaml.MappingNode {
			return &KeyError{Key: orRoot(path), Line: n.Line, Msg: "must be a mapping of keys"}
		}
		fields := map[string]reflect.StructField{}
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name := strings.Split(f.Tag.Get("yaml"), ",")[0]
			if name != "" && name != "-" {
				fields[name] = f
			}
		}
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			key := join(path, k.Value)
			f, ok := fields[k.Value]
			if !ok {
				return &KeyError{Key: key, Line: k.Line, Msg: fmt.Sprintf("unknown key (known: %s)", known(fields))}
			}
			if seen[k.Value] {
				return &KeyError{Key: key, Line: k.Line, Msg: "key given twice"}
			}
			seen[k.Value] = true
			lines[key] = k.Line
			if err := checkKeys(v, f.Type, key, lines); err != nil {
				return err
			}
		}
	case reflect.Map:
		if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
			return nil
		}
		if n.Kind != yaml.MappingNode {
			return &KeyError{Key: orRoot(path), Line: n.Line, Msg: "must be a mapping"}
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			key := join(path, n.Content[i].Value)
			lines[key] = n.Content[i].Line
			if err := checkKeys(n.Content[i+1], t.Elem(), key, lines); err != nil {
				return err
			}
		}
	case reflect.Slice:
		if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
			return nil
		}
		if n.Kind != yaml.SequenceNode {
			return &KeyError{Key: orRoot(path), Line: n.Line, Msg: "must be a list"}
		}
		for i, item := range n.Content {
			key := fmt.Sprintf("%s[%d]", path, i)
			lines[key] = item.Line
			if err := checkKeys(item, t.Elem(), key, lines); err != nil {
				return err
			}
		}
	default:
		if n.Kind != yaml.ScalarNode {
			return &KeyError{Key: orRoot(path), Line: n.Line, Msg: fmt.Sprintf("must be a single %s value", t.Kind())}
		}
	}
	return nil
}

// explainDecode rewrites decode errors ("line 7: cannot unmarshal !!str
// `abc` into int") so they name the key too.
func explainDecode(err error, lines map[string]int) error {
	msg := err.Error()
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	msg = strings.TrimPrefix(msg, "yaml: ")
	var line int
	if _, scanErr := fmt.Sscanf(msg, "line %d:", &line); scanErr == nil {
		best := ""
		for k, l := range lines {
			// the deepest key on that line is the one whose value is bad
			if l == line && !strings.HasSuffix(k, "]") && len(k) > len(best) {
				best = k
			}
		}
		if best != "" {
			return &KeyError{Key: best, Line: line, Msg: strings.TrimSpace(strings.SplitN(msg, ":", 2)[1])}
		}
	}
	return errors.New(msg)
}

func join(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

func orRoot(p string) string {
	if p == "" {
		return "(top level)"
	}
	return p
}

func known(fields map[string]reflect.StructField) string {
	names := make([]string, 0, len(fields))
	for n := range fields {
		names = append(names, n)
	}
	sortStrings(names)
	return strings.Join(names, ", ")
}
