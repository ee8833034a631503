package importer

import "testing"

func TestConverter(t *testing.T) {
	if Converter("segura") == nil || Converter("recorder") == nil {
		t.Error("a known format has no converter")
	}
	for _, from := range []string{"", "Segura", "har"} {
		if Converter(from) != nil {
			t.Errorf("%q has a converter", from)
		}
	}
}

func TestNameOf(t *testing.T) {
	for file, want := range map[string]string{"Facebook.psc": "Facebook", "/tmp/my-site.recording.json": "my-site", "plain": "plain"} {
		if got := NameOf(file); got != want {
			t.Errorf("NameOf(%q) = %q, want %q", file, got, want)
		}
	}
}
