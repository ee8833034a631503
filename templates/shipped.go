package templates

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// shipped holds the templates rotator ships, and Apple's list of
// change-password URLs (data/change-password-URLs.json, MIT licence in
// data/APPLE-LICENSE.md, from github.com/apple/password-manager-resources).
//
//go:embed *.yaml data/change-password-URLs.json
var shipped embed.FS

// Shipped lists the names of the templates built into rotator.
func Shipped() []string {
	entries, _ := fs.Glob(shipped, "*.yaml")
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = strings.TrimSuffix(e, ".yaml")
	}
	sort.Strings(out)
	return out
}

// Find loads a template by file path, or by name from dir (a folder of the
// operator's templates; may be empty) and then from the shipped ones.
func Find(nameOrPath, dir string) (*Template, Diagnostics) {
	if strings.ContainsRune(nameOrPath, filepath.Separator) || strings.HasSuffix(nameOrPath, ".yaml") || strings.HasSuffix(nameOrPath, ".yml") {
		return LoadFile(nameOrPath)
	}
	if dir != "" {
		for _, ext := range []string{".yaml", ".yml"} {
			p := filepath.Join(dir, nameOrPath+ext)
			if _, err := os.Stat(p); err == nil {
				return LoadFile(p)
			}
		}
	}
	data, err := shipped.ReadFile(nameOrPath + ".yaml")
	if err != nil {
		where := "shipped templates (" + strings.Join(Shipped(), ", ") + ")"
		if dir != "" {
			where = dir + " or the " + where
		}
		return nil, Diagnostics{{File: nameOrPath, Msg: "no template named " + nameOrPath + " in " + where}}
	}
	return Parse("shipped:"+nameOrPath+".yaml", data)
}

// ChangePasswordURL returns the change-password page Apple's list gives for
// the host of rawURL, trying parent domains, or "" when none is listed.
func ChangePasswordURL(rawURL string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", err
	}
	data, err := shipped.ReadFile("data/change-password-URLs.json")
	if err != nil {
		return "", err
	}
	var list map[string]string
	if err := json.Unmarshal(data, &list); err != nil {
		return "", fmt.Errorf("change-password list: %w", err)
	}
	host := strings.ToLower(u.Hostname())
	for {
		if v, ok := list[host]; ok {
			return v, nil
		}
		i := strings.IndexByte(host, '.')
		if i < 0 || !strings.Contains(host[i+1:], ".") {
			return "", nil
		}
		host = host[i+1:]
	}
}
