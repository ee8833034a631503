package importer

import "testing"

func TestJQueryShapes(t *testing.T) {
	for in, want := range map[string][2]string{
		`div:contains("Sucesso"):eq(1)`: {`div:contains("Sucesso")`, ":eq(1)"},
		`li:first-child a`:              {`li:first-child a`, ""},
		`tr:visible td`:                 {`tr td`, ":visible"},
		`a:last`:                        {`a`, ":last"},
	} {
		rest, cut := cutJQueryPseudo(in)
		if rest != want[0] || cut != want[1] {
			t.Errorf("cutJQueryPseudo(%q) = %q, %q", in, rest, cut)
		}
	}
	for in, want := range map[string][2]string{
		`$('a:contains("Settings")').click()`:    {`a:contains("Settings")`, ".click()"},
		`$('[name="x"]').val("MCOM");`:           {`[name="x"]`, `.val("MCOM")`},
		`$("div:contains('ok')")`:                {`div:contains('ok')`, ""},
		`document.querySelector('#btn').click()`: {"", ""},
	} {
		sel, call, ok := jqCall(in)
		if sel != want[0] || call != want[1] || ok != (want[0] != "") {
			t.Errorf("jqCall(%q) = %q, %q, %v", in, sel, call, ok)
		}
	}
	if got := replacePlaceholders("https://[#IP#]:8553/[#bad name#]/[#X", func(n string) string { return "<" + n + ">" }); got != "https://<IP>:8553/[#bad name#]/[#X" {
		t.Errorf("replacePlaceholders: %s", got)
	}
}
