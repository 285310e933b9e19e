package home

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"regexp"

	"go.yaml.in/yaml/v3"

	"github.com/signoff-dev/signoff/evidence"
	"github.com/signoff-dev/signoff/ledger"
)

// Config is what config.yaml may set.
type Config struct {
	Theme string `yaml:"theme"`
}

// Config reads config.yaml; a home without one has the zero Config.
func (h *Home) Config() (Config, error) {
	var c Config
	path := h.Path(ConfigFile)
	data, err := ledger.ReadBounded(path, 64<<10)
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	} else if err != nil {
		return c, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return c, evidence.YAMLError(path, err)
	}
	return c, nil
}

// A Remote is where a remote is and how to reach it, as signoff remote
// add named it.
type Remote struct {
	URL       string `json:"url"`
	Endpoint  string `json:"endpoint,omitempty"`   // S3: the store's URL
	PathStyle bool   `json:"path_style,omitempty"` // S3: path-style addressing
}

var remoteNameRE = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`)

// CheckRemoteName says why name cannot name a remote, or nil.
func CheckRemoteName(name string) error {
	if !remoteNameRE.MatchString(name) {
		return fmt.Errorf("remote name %q: use lowercase letters, digits, - and _ (at most 32, a letter first)", name)
	}
	return nil
}

// Remotes returns the remotes the home names.
func (h *Home) Remotes() (map[string]Remote, error) {
	path := h.Path(RemotesFile)
	out := map[string]Remote{}
	data, err := ledger.ReadBounded(path, 1<<20)
	if errors.Is(err, fs.ErrNotExist) {
		return out, nil
	} else if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return out, nil
}

// AddRemote names a remote. A name already given to another remote is
// refused.
func (h *Home) AddRemote(name string, r Remote) error {
	if err := CheckRemoteName(name); err != nil {
		return err
	}
	rs, err := h.Remotes()
	if err != nil {
		return err
	}
	if old, ok := rs[name]; ok && old != r {
		return fmt.Errorf("remote %s is already %s", name, old.URL)
	}
	rs[name] = r
	data, _ := json.MarshalIndent(rs, "", "  ")
	return ledger.WriteFileAtomic(h.Path(RemotesFile), append(data, '\n'))
}

// maxRemoteState bounds what a home reads of one remote's state.
const maxRemoteState = 256 << 20

// RemoteState returns what the home remembers of the remote keyed key
// (a remote's name, or a key derived from its location), nil if nothing.
func (h *Home) RemoteState(key string) ([]byte, error) {
	if err := checkStateKey(key); err != nil {
		return nil, err
	}
	data, err := ledger.ReadBounded(h.Path(RemotesDir+"/"+key+".json"), maxRemoteState)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return data, err
}

// SaveRemoteState durably replaces what the home remembers of a remote.
func (h *Home) SaveRemoteState(key string, data []byte) error {
	if err := checkStateKey(key); err != nil {
		return err
	}
	return ledger.WriteFileAtomic(h.Path(RemotesDir+"/"+key+".json"), data)
}

var stateKeyRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

func checkStateKey(key string) error {
	if !stateKeyRE.MatchString(key) {
		return fmt.Errorf("internal error: %q cannot name a remote's state", key)
	}
	return nil
}
