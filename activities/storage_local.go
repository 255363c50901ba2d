package activities

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// localStore keeps objects as files under dir, and each object's content
// type in a file of the same path under dir/.content-type. dir must exist:
// a missing one is a missing bucket, not something to create silently.
//
// Every file operation goes through an os.Root opened on dir, so nothing a
// key says (it may be rendered from a record) and no symbolic link planted
// inside dir can make an operation touch a file outside it. The metadata
// directory is not part of the object namespace: a key whose first segment
// is .content-type is refused, so no object can overwrite another's
// content type.
type localStore struct{ dir string }

const localMetaDir = ".content-type"

// errReservedKey is a key inside the local driver's metadata directory.
var errReservedKey = errors.New("the path is reserved for the bucket's metadata")

// root opens the bucket's directory.
func (l localStore) root() (*os.Root, error) {
	r, err := os.OpenRoot(l.dir)
	if errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return nil, fmt.Errorf("%w: directory %s", errBucketNotFound, l.dir)
	}
	return r, err
}

// names returns the root-relative file names of key's object and content
// type.
func (l localStore) names(key string) (object, meta string, err error) {
	first, _, _ := strings.Cut(key, "/")
	if strings.EqualFold(first, localMetaDir) {
		return "", "", fmt.Errorf("%w: %q (%s/ holds the content types)", errReservedKey, key, localMetaDir)
	}
	object = filepath.FromSlash(key)
	return object, filepath.Join(localMetaDir, object), nil
}

func (l localStore) Put(_ context.Context, key string, data []byte, contentType string) error {
	object, meta, err := l.names(key)
	if err != nil {
		return err
	}
	r, err := l.root()
	if err != nil {
		return err
	}
	defer r.Close()
	if err := writeFileAtomic(r, meta, []byte(contentType)); err != nil {
		return err
	}
	return writeFileAtomic(r, object, data)
}

// writeFileAtomic writes name inside r through a temporary file and a
// rename, so a reader (or a crash) never sees half an object.
func writeFileAtomic(r *os.Root, name string, data []byte) error {
	dir := filepath.Dir(name)
	if err := r.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var suffix [8]byte
	if _, err := rand.Read(suffix[:]); err != nil {
		return err
	}
	tmp := filepath.Join(dir, ".upload-"+hex.EncodeToString(suffix[:]))
	f, err := r.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	_, werr := f.Write(data)
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		_ = r.Remove(tmp)
		return err
	}
	if err := r.Rename(tmp, name); err != nil {
		_ = r.Remove(tmp)
		return err
	}
	return nil
}

func (l localStore) Get(_ context.Context, key string) ([]byte, string, error) {
	object, meta, err := l.names(key)
	if err != nil {
		return nil, "", err
	}
	r, err := l.root()
	if err != nil {
		return nil, "", err
	}
	defer r.Close()
	b, err := r.ReadFile(object)
	if errors.Is(err, os.ErrNotExist) {
		return nil, "", fmt.Errorf("%w: %s", errObjectNotFound, key)
	}
	if err != nil {
		return nil, "", err
	}
	ct, _ := r.ReadFile(meta)
	return b, string(ct), nil
}

func (l localStore) Delete(_ context.Context, key string) (bool, error) {
	object, meta, err := l.names(key)
	if err != nil {
		return false, err
	}
	r, err := l.root()
	if err != nil {
		return false, err
	}
	defer r.Close()
	err = r.Remove(object)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	_ = r.Remove(meta) // best effort: a stale type is harmless
	return true, nil
}

func (l localStore) Copy(ctx context.Context, from, to string) error {
	b, ct, err := l.Get(ctx, from)
	if err != nil {
		return err
	}
	return l.Put(ctx, to, b, ct)
}
