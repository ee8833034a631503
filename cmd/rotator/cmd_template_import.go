package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/rotator-pam/rotator/importer"
)

type templateImportOptions struct {
	from, name, out string
	force           bool
}

func newTemplateImportCmd(a *app) *cobra.Command {
	var opts templateImportOptions
	c := &cobra.Command{
		Use:   "import --from segura|recorder FILE [--name NAME] [-o OUT.yaml]",
		Short: "Convert a senhasegura template or a Chrome Recorder export into a template",
		Long: `import converts another tool's template into a rotator template and checks
that it validates.

--from segura reads a senhasegura execution template (.psc): every command is
mapped, [#USERNAME#], [#CURRENT_PASSWORD#] and [#NEW_PASSWORD#] become
{{ username }}, {{ password }} and {{ new_password }}, and installation values
such as [#IP#] become template parameters ({{ param.ip }}). The one sequence is
split into the login, change, logout and verify flows.

--from recorder reads a Chrome DevTools Recorder export (JSON): record signing
in, changing the password and signing out in Chrome (DevTools > Recorder),
export it as JSON, and import it. Values typed during the recording are never
copied: each field gets {{ username }}, {{ password }}, {{ new_password }} or
{{ totp }} by what it looks like.

The template goes to standard output (or -o FILE); the notes go to standard
error, each with the source's line (or the recording's step) number: what
could not be mapped, and what to check. Nothing is dropped silently.`,
		Example: `  rotator template import --from segura Facebook.psc -o facebook.yaml
  rotator template import --from recorder my-site.json --name my-site -o my-site.yaml
  rotator template test my-site.yaml --account work`,
		Args: exactArgs(1, "FILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runTemplateImport(a, opts, args[0])
		},
	}
	f := c.Flags()
	f.StringVar(&opts.from, "from", "", "the source's format: segura or recorder (required)")
	f.StringVar(&opts.name, "name", "", "the template's name (default: from the file name)")
	f.StringVarP(&opts.out, "output", "o", "", "write the template to this file instead of standard output")
	f.BoolVar(&opts.force, "force", false, "overwrite the -o file if it exists")
	return c
}

func runTemplateImport(a *app, opts templateImportOptions, file string) error {
	conv := importer.Converter(opts.from)
	switch {
	case opts.from == "":
		return usagef("--from is required: segura or recorder")
	case conv == nil:
		return usagef("--from %q: want segura or recorder", opts.from)
	}
	src, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	name := opts.name
	if name == "" {
		name = importer.NameOf(file)
	}
	res, err := conv(name, src)
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	warnings := 0
	for _, n := range res.Notes {
		if n.Warning {
			warnings++
		}
		fmt.Fprintln(a.stderr, n.In(file))
	}
	if opts.out == "" {
		_, err = a.stdout.Write(res.YAML)
		return err
	}
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if opts.force {
		flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	f, err := os.OpenFile(opts.out, flags, 0o644)
	if errors.Is(err, os.ErrExist) {
		return fmt.Errorf("%s exists: use --force to overwrite it", opts.out)
	}
	if err != nil {
		return err
	}
	if _, err := f.Write(res.YAML); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintf(a.stderr, "wrote %s (validates; %d warning(s) to check above)\n", opts.out, warnings)
	return nil
}
