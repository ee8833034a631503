package importer

import "testing"

func TestCutJQueryPseudo(t *testing.T) {
	for _, c := range []struct{ name, in, rest, cut string }{
		{"eq after contains", `div:contains("Sucesso"):eq(1)`, `div:contains("Sucesso")`, ":eq(1)"},
		{"css pseudo kept", `li:first-child a`, `li:first-child a`, ""},
		{"no arguments, then a space", `tr:visible td`, `tr td`, ":visible"},
		{"at the end", `a:last`, `a`, ":last"},
		{"longer word is not the pseudo", `a:lastly`, `a:lastly`, ""},
		{"css pseudo, then a jQuery one", `li:first-child:eq(0) a`, `li:first-child a`, ":eq(0)"},
		{"arguments end at the first paren", `td:eq(1)) b`, `td) b`, ":eq(1)"},
		{"unclosed arguments stay", `td:gt(2 b`, `td(2 b`, ":gt"},
		{"empty arguments", `td:lt() b`, `td b`, ":lt()"},
		{"upper case or digit ends the name", `p:oddX`, `pX`, ":odd"},
		{"followed by a class", `tr:even.row`, `tr.row`, ":even"},
		{"only the first", `a:first b:hidden`, `a b:hidden`, ":first"},
		{"no colon", `div.eq`, `div.eq`, ""},
		{"empty", ``, ``, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			rest, cut := cutJQueryPseudo(c.in)
			if rest != c.rest || cut != c.cut {
				t.Errorf("cutJQueryPseudo(%q) = %q, %q; want %q, %q", c.in, rest, cut, c.rest, c.cut)
			}
		})
	}
}

func TestJQCall(t *testing.T) {
	for _, c := range []struct {
		name, in, sel, call string
		ok                  bool
	}{
		{"click", `$('a:contains("Settings")').click()`, `a:contains("Settings")`, ".click()", true},
		{"val and semicolon", `$('[name="x"]').val("MCOM");`, `[name="x"]`, `.val("MCOM")`, true},
		{"double quotes, nothing after", `$("div:contains('ok')")`, `div:contains('ok')`, "", true},
		{"spaces around", "  $('#a').click() ;  ", `#a`, ".click() ", true},
		{"only one semicolon goes", `$('#a');;`, `#a`, ";", true},
		{"the first closing quote ends the selector", `$('a').x('b')`, `a`, ".x('b')", true},
		{"the other quote does not close it", `$('a")').click()`, `a")`, ".click()", true},
		{"empty selector", `$('')`, "", "", false},
		{"empty selector, later close", `$('')x')`, "", "", false},
		{"unclosed", `$('a).click()`, "", "", false},
		{"no quote", `$(a).click()`, "", "", false},
		{"not jQuery", `document.querySelector('#btn').click()`, "", "", false},
		{"too short", `$('`, "", "", false},
		{"newline in the selector", "$('a\nb')", "a\nb", "", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			sel, call, ok := jqCall(c.in)
			if sel != c.sel || call != c.call || ok != c.ok {
				t.Errorf("jqCall(%q) = %q, %q, %v; want %q, %q, %v", c.in, sel, call, ok, c.sel, c.call, c.ok)
			}
		})
	}
}

func TestJQVal(t *testing.T) {
	for _, c := range []struct {
		name, in, val string
		ok            bool
	}{
		{"single quotes", `.val('MCOM')`, "MCOM", true},
		{"double quotes", `.val("[#NEW_PASSWORD#]")`, "[#NEW_PASSWORD#]", true},
		{"empty", `.val('')`, "", true},
		{"quote inside", `.val('a'b')`, "a'b", true},
		{"mismatched quotes", `.val('a")`, "", false},
		{"not a string", `.val(x)`, "", false},
		{"no closing paren", `.val('a'`, "", false},
		{"something after", `.val('a').change()`, "", false},
		{"another call", `.click()`, "", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			val, ok := jqVal(c.in)
			if ok != c.ok || ok && val != c.val {
				t.Errorf("jqVal(%q) = %q, %v; want %q, %v", c.in, val, ok, c.val, c.ok)
			}
		})
	}
}

func TestPlaceholders(t *testing.T) {
	angle := func(n string) string { return "<" + n + ">" }
	for _, c := range []struct{ name, in, want string }{
		{"several", "https://[#IP#]:8553/[#bad name#]/[#X", "https://<IP>:8553/[#bad name#]/[#X"},
		{"nested opening", "[#[#IP#]", "[#<IP>"},
		{"empty name", "[##]", "[##]"},
		{"hash inside", "[#A#B#]", "[#A#B#]"},
		{"closing twice", "[#A#]#]", "<A>#]"},
		{"underscore and digits", "[#CURRENT_PASSWORD#][#h2#]", "<CURRENT_PASSWORD><h2>"},
		{"non-ASCII letter", "[#é#]", "[#é#]"},
		{"none", "plain text", "plain text"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := replacePlaceholders(c.in, angle); got != c.want {
				t.Errorf("replacePlaceholders(%q) = %q, want %q", c.in, got, c.want)
			}
			if got, want := hasPlaceholder(c.in), c.in != c.want; got != want {
				t.Errorf("hasPlaceholder(%q) = %v", c.in, got)
			}
		})
	}
}
