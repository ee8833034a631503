package main

import "testing"

// A password's bytes are kept exactly: leading and trailing spaces and
// tabs are part of it. Other fields may be trimmed.
func TestImportCSVKeepsPasswordBytes(t *testing.T) {
	data := "name, template ,username,password\n" +
		" fb , facebook,  fb-user , \t lead and trail \t\n" +
		"tw,twitter,tw-user,\"  quoted, with comma \"\n"
	recs, err := parseImportCSV("accounts.csv", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ name, template, username, password string }{
		{"fb", "facebook", "fb-user", " \t lead and trail \t"},
		{"tw", "twitter", "tw-user", "  quoted, with comma "},
	}
	if len(recs) != len(want) {
		t.Fatalf("%d records, want %d", len(recs), len(want))
	}
	for i, w := range want {
		r := recs[i]
		if r.Name != w.name || r.Template != w.template || r.Username != w.username {
			t.Errorf("record %d: %q %q %q", i, r.Name, r.Template, r.Username)
		}
		if r.Password != w.password {
			t.Errorf("record %d: password not kept byte for byte (length %d, want %d)", i, len(r.Password), len(w.password))
		}
	}
}
