package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/rotator-pam/rotator/templates"
)

func newTemplateCmd(a *app) *cobra.Command {
	c := &cobra.Command{
		Use:   "template",
		Short: "Validate and test login templates",
		Example: `  rotator template validate templates/
  rotator template test demo-social --account demo`,
	}
	groupCommand(c)
	c.AddCommand(newTemplateValidateCmd(a), newTemplateTestCmd(a), newTemplateFixCmd(a), newTemplateImportCmd(a), newTemplateSuggestCmd(a))
	return c
}

type templateValidateOptions struct {
	paths []string
}

func newTemplateValidateCmd(a *app) *cobra.Command {
	var opts templateValidateOptions
	return &cobra.Command{
		Use:   "validate PATH...",
		Short: "Check template files: every error at once, as path:line:col: message",
		Long: `validate loads each template file (a folder is searched for *.yaml and
*.yml) and prints every error and warning as path:line:col: message. It exits
1 if any file has an error, 0 when there are only warnings.`,
		Example: `  rotator template validate templates/demo-social.yaml
  rotator template validate ~/my-templates/`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usagef("%s needs at least one file or folder", cmd.CommandPath())
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.paths = args
			return runTemplateValidate(cmd.Context(), a, opts)
		},
	}
}

func runTemplateValidate(_ context.Context, a *app, opts templateValidateOptions) error {
	files, err := templates.Files(opts.paths)
	if err != nil {
		return err
	}
	var nErr, nWarn, bad int
	for _, f := range files {
		_, diags := templates.LoadFile(f)
		for _, d := range diags {
			fmt.Fprintln(a.stdout, d.String())
			if d.Warning {
				nWarn++
			} else {
				nErr++
			}
		}
		if diags.HasErrors() {
			bad++
		}
	}
	summary := fmt.Sprintf("%d file(s): %d error(s), %d warning(s)", len(files), nErr, nWarn)
	if nErr > 0 {
		return errors.New(summary + fmt.Sprintf(" in %d file(s)", bad))
	}
	fmt.Fprintln(a.stderr, summary)
	return nil
}
