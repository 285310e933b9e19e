package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/signoff-dev/signoff/evidence"
	"github.com/signoff-dev/signoff/inert"
)

func (a *app) cardCmd() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "card FILE",
		Short: "Read a model card and print its structured fields",
		Long: `Parse one model card and print its structured fields: name, owners,
license, intended use, limitations, datasets and every reported metric
(task, dataset, metric type and name, the value as the card gives it, and
its confidence interval when the card has one).

Formats: Hugging Face markdown with YAML front matter (model-index, or the
legacy model_index; values such as "20.0 ± 1.2" are read), Google Model Card
Toolkit JSON (schema v0.0.1 and v0.0.2, with slices and intervals), and
plain markdown. A card whose metadata does not parse is shown as markdown,
with a warning.`,
		Example: `  signoff card MODEL_CARD.md
  signoff card model_card.json --json | jq '.results[] | select(.metric_type=="accuracy")'`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			data, err := readCardFile(args[0])
			if err != nil {
				return err
			}
			card, err := evidence.ParseCard(args[0], data)
			if err != nil {
				return usageError("%v", err)
			}
			if asJSON {
				return writeJSON(a.stdout, card)
			}
			for _, w := range card.Warnings {
				fmt.Fprintf(a.stderr, "warning: %s\n", inert.Escape(w))
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintf(tw, "name:\t%s\n", orDash(oneLine(card.Name)))
			fmt.Fprintf(tw, "format:\t%s\n", card.Format)
			fmt.Fprintf(tw, "owners:\t%s\n", orDash(oneLine(strings.Join(card.Owners, ", "))))
			fmt.Fprintf(tw, "license:\t%s\n", orDash(oneLine(card.License)))
			fmt.Fprintf(tw, "datasets:\t%s\n", orDash(oneLine(strings.Join(card.Datasets, ", "))))
			fmt.Fprintf(tw, "intended use:\t%s\n", orDash(oneLine(card.IntendedUse)))
			fmt.Fprintf(tw, "limitations:\t%s\n", orDash(oneLine(strings.Join(card.Limitations, "; "))))
			tw.Flush()
			fmt.Fprintf(a.stdout, "results: %d\n", len(card.Results))
			tw = tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
			for _, r := range card.Results {
				ci := ""
				if r.CI != nil {
					ci = fmt.Sprintf("[%g, %g]", r.CI[0], r.CI[1])
				}
				fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", oneLine(orDash(r.Task)), oneLine(orDash(r.Dataset+sliceOf(r))),
					oneLine(r.MetricType), oneLine(r.MetricName), oneLine(r.Value), ci)
			}
			return tw.Flush()
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "the card as JSON: name, owners, license, intended_use, limitations, datasets, results[], warnings")
	return c
}

func sliceOf(r evidence.Result) string {
	if r.Slice == "" {
		return ""
	}
	return " / " + r.Slice
}

// oneLine makes untrusted text safe and fits it on one table line.
func oneLine(s string) string { return inert.Cut(inert.Line(inert.Escape(s)), 100) }

func readCardFile(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, usageError("%s: no such file", path)
	} else if err != nil {
		return nil, usageError("%v", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, usageError("%s is not a regular file", path)
	}
	if fi.Size() > evidence.MaxCard {
		return nil, usageError("%s is %d bytes, more than a card may be (%d)", path, fi.Size(), evidence.MaxCard)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, usageError("%v", err)
	}
	return data, nil
}
