// Command demobundles writes signoff's three demo evidence bundles and
// their policy into a directory: go run ./tools/demobundles DIR.
package main

import (
	"fmt"
	"os"

	"github.com/signoff-dev/signoff/evidence/demo"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: demobundles DIR")
		os.Exit(3)
	}
	if err := demo.Write(os.Args[1]); err != nil {
		fmt.Fprintf(os.Stderr, "demobundles: %v\n", err)
		os.Exit(1)
	}
	for _, b := range demo.Bundles {
		fmt.Println(b)
	}
}
