package templates

import (
	"embed"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
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

// Find loads a template to run: by file path, or by name from dir (a
// folder of the operator's templates, templates.dir; may be empty) and then
// from the shipped ones. A template is code that handles passwords: a file
// that group or others may write is refused, as is a dir they may write,
// the way the master key file is.
func Find(nameOrPath, dir string) (*Template, Diagnostics) {
	if strings.ContainsRune(nameOrPath, filepath.Separator) || strings.HasSuffix(nameOrPath, ".yaml") || strings.HasSuffix(nameOrPath, ".yml") {
		return loadTrusted(nameOrPath)
	}
	if dir != "" {
		for _, ext := range []string{".yaml", ".yml"} {
			p := filepath.Join(dir, nameOrPath+ext)
			if _, err := os.Stat(p); err == nil {
				if err := checkNotWritable("templates.dir", dir); err != nil {
					return nil, Diagnostics{{File: p, Msg: err.Error()}}
				}
				return loadTrusted(p)
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

// loadTrusted reads a template file to run, refusing one that group or
// others may write. The mode is read from the open file, so the check and
// the read are of the same file.
func loadTrusted(path string) (*Template, Diagnostics) {
	f, err := os.Open(path)
	if err != nil {
		return nil, Diagnostics{{File: path, Msg: err.Error()}}
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, Diagnostics{{File: path, Msg: fmt.Sprintf("stat template file: %v", err)}}
	}
	if err := writableBy("template file", path, fi); err != nil {
		return nil, Diagnostics{{File: path, Msg: err.Error()}}
	}
	data, err := io.ReadAll(io.LimitReader(f, maxTemplateSize+1))
	if err != nil {
		return nil, Diagnostics{{File: path, Msg: fmt.Sprintf("read template file: %v", err)}}
	}
	if len(data) > maxTemplateSize {
		return nil, Diagnostics{{File: path, Msg: fmt.Sprintf("template file is larger than %d bytes", maxTemplateSize)}}
	}
	return Parse(path, data)
}

// maxTemplateSize bounds a template file: the biggest shipped one is a
// few kilobytes.
const maxTemplateSize = 1 << 20

func checkNotWritable(what, path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("stat %s: %w", what, err)
	}
	return writableBy(what, path, fi)
}

// writableBy refuses a file or folder that group or others may write, in
// the words the master key file's check uses, or that belongs to another
// user than rotator's or root (its owner may rewrite it whatever its mode).
func writableBy(what, path string, fi os.FileInfo) error {
	if perm := fi.Mode().Perm(); perm&0o022 != 0 {
		return fmt.Errorf("%s %s has mode %04o: group or others may write it; run `chmod go-w %s`", what, path, perm, path)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Uid != 0 && int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("%s %s belongs to uid %d, who may rewrite it: a template runs with the account's passwords; keep it owned by rotator's user or root (chown)", what, path, st.Uid)
	}
	return nil
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
