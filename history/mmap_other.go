//go:build !unix

package history

import (
	"errors"
	"os"
)

// mapFile is not available here: packObjects leaves every read to
// go-git's storage.
func mapFile(*os.File, int64) ([]byte, error) {
	return nil, errors.New("memory-mapped packs need a unix system")
}

func unmapFile([]byte) {}
