// helm-render: `helm template` for this repository's chart, for machines without the helm
// binary (neither Debian nor npm ships it). It uses the engine Helm itself is built on, Go's
// text/template with the sprig v3 function library, and reproduces what Helm's engine adds
// (helm.sh/helm/v3/pkg/engine): include, tpl, required, toYaml/fromYaml/toJson/fromJson,
// lookup (empty offline), no env/expandenv, missingkey=zero with "<no value>" blanked,
// partials (_*.tpl) defined but not rendered, NOTES.txt skipped, values coalesced over
// values.yaml (maps merged, null deletes a key), numbers decoded as float64 through JSON
// as Helm's sigs.k8s.io/yaml does.
//
// Usage: helm-render [-include-crds] CHART_DIR RELEASE NAMESPACE [VALUES_FILE...]
// Output: like `helm template`: "---\n# Source: <chart>/<path>\n<manifest>" per template.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/ioutil"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig"
	"github.com/ghodss/yaml"
)

func main() {
	includeCrds := flag.Bool("include-crds", false, "also print the chart's crds/ files first")
	flag.Parse()
	args := flag.Args()
	if len(args) < 3 {
		fail(errors.New("usage: helm-render [-include-crds] CHART_DIR RELEASE NAMESPACE [VALUES_FILE...]"))
	}
	out, err := render(args[0], args[1], args[2], args[3:], *includeCrds)
	if err != nil {
		fail(err)
	}
	os.Stdout.WriteString(out)
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "Error: %v\n", err)
	os.Exit(1)
}

func readYAMLMap(path string) (map[string]interface{}, error) {
	data, err := ioutil.ReadFile(path)
	if err != nil {
		return nil, err
	}
	m := map[string]interface{}{}
	if err := yaml.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return m, nil
}

// coalesce: override wins; maps merge recursively; a null override deletes the key.
func coalesce(base, over map[string]interface{}) map[string]interface{} {
	out := map[string]interface{}{}
	for k, v := range base {
		out[k] = v
	}
	for k, v := range over {
		if v == nil {
			delete(out, k)
			continue
		}
		bm, bok := out[k].(map[string]interface{})
		om, ook := v.(map[string]interface{})
		if bok && ook {
			out[k] = coalesce(bm, om)
		} else {
			out[k] = v
		}
	}
	return out
}

// chartMetadata maps Chart.yaml keys to the field names templates use (.Chart.AppVersion).
func chartMetadata(raw map[string]interface{}) map[string]interface{} {
	names := map[string]string{"apiVersion": "APIVersion", "name": "Name", "version": "Version", "appVersion": "AppVersion",
		"description": "Description", "type": "Type", "kubeVersion": "KubeVersion", "keywords": "Keywords", "home": "Home",
		"sources": "Sources", "icon": "Icon", "annotations": "Annotations", "deprecated": "Deprecated", "maintainers": "Maintainers"}
	m := map[string]interface{}{}
	for k, v := range raw {
		if n, ok := names[k]; ok {
			m[n] = v
		}
	}
	return m
}

func toYAML(v interface{}) string {
	data, err := yaml.Marshal(v)
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(string(data), "\n")
}

func fromYAML(s string) map[string]interface{} {
	m := map[string]interface{}{}
	if err := yaml.Unmarshal([]byte(s), &m); err != nil {
		m["Error"] = err.Error()
	}
	return m
}

func toJSON(v interface{}) string {
	data, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(data)
}

func fromJSON(s string) map[string]interface{} {
	m := map[string]interface{}{}
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		m["Error"] = err.Error()
	}
	return m
}

func render(chartDir, release, namespace string, valueFiles []string, includeCrds bool) (string, error) {
	rawChart, err := readYAMLMap(filepath.Join(chartDir, "Chart.yaml"))
	if err != nil {
		return "", err
	}
	chartName, _ := rawChart["name"].(string)
	values, err := readYAMLMap(filepath.Join(chartDir, "values.yaml"))
	if err != nil {
		return "", err
	}
	for _, f := range valueFiles {
		over, err := readYAMLMap(f)
		if err != nil {
			return "", err
		}
		values = coalesce(values, over)
	}

	var names []string
	root := filepath.Join(chartDir, "templates")
	err = filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if !info.IsDir() {
			names = append(names, p)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	sort.Strings(names)

	t := template.New("gotpl").Option("missingkey=zero")
	funcs := sprig.TxtFuncMap()
	delete(funcs, "env")
	delete(funcs, "expandenv")
	includedNames := map[string]int{}
	funcs["include"] = func(name string, data interface{}) (string, error) {
		if includedNames[name] > 1000 {
			return "", fmt.Errorf("rendering template has a nested reference name: %s", name)
		}
		includedNames[name]++
		var buf bytes.Buffer
		err := t.ExecuteTemplate(&buf, name, data)
		includedNames[name]--
		return buf.String(), err
	}
	funcs["tpl"] = func(text string, data interface{}) (string, error) {
		c, err := t.Clone()
		if err != nil {
			return "", err
		}
		x, err := c.New("tpl").Parse(text)
		if err != nil {
			return "", err
		}
		var buf bytes.Buffer
		err = x.Execute(&buf, data)
		return strings.Replace(buf.String(), "<no value>", "", -1), err
	}
	funcs["required"] = func(msg string, v interface{}) (interface{}, error) {
		if v == nil {
			return v, errors.New(msg)
		}
		if s, ok := v.(string); ok && s == "" {
			return v, errors.New(msg)
		}
		return v, nil
	}
	funcs["toYaml"] = toYAML
	funcs["fromYaml"] = fromYAML
	funcs["toJson"] = toJSON
	funcs["fromJson"] = fromJSON
	funcs["lookup"] = func(string, string, string, string) (map[string]interface{}, error) { return map[string]interface{}{}, nil }
	t.Funcs(funcs)

	rel := func(p string) string {
		r, _ := filepath.Rel(chartDir, p)
		return chartName + "/" + filepath.ToSlash(r)
	}
	for _, p := range names {
		data, err := ioutil.ReadFile(p)
		if err != nil {
			return "", err
		}
		if _, err := t.New(rel(p)).Parse(string(data)); err != nil {
			return "", err
		}
	}

	top := map[string]interface{}{
		"Values":  values,
		"Chart":   chartMetadata(rawChart),
		"Release": map[string]interface{}{"Name": release, "Namespace": namespace, "IsInstall": true, "IsUpgrade": false, "Revision": 1, "Service": "Helm"},
		"Capabilities": map[string]interface{}{
			"KubeVersion": map[string]interface{}{"Version": "v1.31.0", "Major": "1", "Minor": "31", "GitVersion": "v1.31.0"},
			"APIVersions": []string{"v1", "apps/v1", "rbac.authorization.k8s.io/v1", "apiextensions.k8s.io/v1"},
		},
	}

	var out strings.Builder
	if includeCrds {
		crds, _ := filepath.Glob(filepath.Join(chartDir, "crds", "*.yaml"))
		sort.Strings(crds)
		for _, p := range crds {
			data, err := ioutil.ReadFile(p)
			if err != nil {
				return "", err
			}
			fmt.Fprintf(&out, "---\n# Source: %s\n%s\n", rel(p), strings.TrimSpace(string(data)))
		}
	}
	for _, p := range names {
		base := filepath.Base(p)
		if strings.HasPrefix(base, "_") || base == "NOTES.txt" {
			continue
		}
		name := rel(p)
		vals := map[string]interface{}{}
		for k, v := range top {
			vals[k] = v
		}
		vals["Template"] = map[string]interface{}{"Name": name, "BasePath": chartName + "/templates"}
		var buf bytes.Buffer
		if err := t.ExecuteTemplate(&buf, name, vals); err != nil {
			return "", err
		}
		s := strings.Replace(buf.String(), "<no value>", "", -1)
		if strings.TrimSpace(s) == "" {
			continue
		}
		fmt.Fprintf(&out, "---\n# Source: %s\n%s\n", name, s)
	}
	return out.String(), nil
}
