// Package storetest is the conformance suite every triggerstore driver
// passes. A driver's test calls Run with a function opening a fresh, empty
// store, and RunPersistent when the driver can reopen the same data.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/triggerd/triggerd/triggerstore"
)

// Run runs the conformance suite. open must return a new, empty store; the
// suite closes it.
func Run(t *testing.T, open func(t *testing.T) triggerstore.Store) {
	t.Helper()
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, s triggerstore.Store)
	}{
		{"CreateGetList", testCreateGetList},
		{"DuplicateCreate", testDuplicateCreate},
		{"UpdateHistory", testUpdateHistory},
		{"UnchangedUpdate", testUnchangedUpdate},
		{"IfVersionConflict", testIfVersion},
		{"DeleteRecreate", testDeleteRecreate},
		{"NotFound", testNotFound},
		{"InvalidInput", testInvalid},
		{"SpecFidelity", testSpecFidelity},
		{"ApplyAllOrNothing", testApplyAllOrNothing},
		{"ApplyUpsert", testApplyUpsert},
		{"Revision", testRevision},
		{"ConcurrentUpdates", testConcurrentUpdates},
		{"ConcurrentCreates", testConcurrentCreates},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() { _ = s.Close() })
			tc.fn(t, s)
		})
	}
}

// RunPersistent checks that data survives closing and reopening. openSame
// must open the same underlying data every time it is called within one
// test (e.g. the same file or database schema), empty on the first call.
func RunPersistent(t *testing.T, openSame func(t *testing.T) triggerstore.Store) {
	t.Helper()
	t.Run("ConcurrentHandles", func(t *testing.T) { testConcurrentHandles(t, openSame) })
	t.Run("PersistAcrossReopen", func(t *testing.T) {
		ctx := context.Background()
		s := openSame(t)
		mustCreate(t, s, "a", `{"n":1}`)
		mustUpdate(t, s, "a", `{"n":2}`, 0)
		mustCreate(t, s, "b", `{"n":1}`)
		if _, err := s.Delete(ctx, "b", "alice"); err != nil {
			t.Fatal(err)
		}
		rev := mustRevision(t, s)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}

		s = openSame(t)
		t.Cleanup(func() { _ = s.Close() })
		if got := mustRevision(t, s); got != rev {
			t.Errorf("revision after reopen = %d, want %d", got, rev)
		}
		wantList(t, s, "a")
		hist, err := s.History(ctx, "a")
		if err != nil || len(hist) != 2 {
			t.Fatalf("History(a) = %v, %v; want 2 versions", hist, err)
		}
		wantSpec(t, hist[0], `{"n":1}`)
		wantSpec(t, hist[1], `{"n":2}`)
		// Version numbering continues after the reopen.
		rec := mustCreate(t, s, "b", `{"n":3}`)
		if rec.Version != 3 {
			t.Errorf("recreated b version = %d, want 3", rec.Version)
		}
		// Opening a second handle on the same data while the first is
		// open (two processes) must work and see the same state.
		s2 := openSame(t)
		t.Cleanup(func() { _ = s2.Close() })
		mustUpdate(t, s2, "a", `{"n":4}`, 2)
		if got, err := s.Get(ctx, "a"); err != nil || got.Version != 3 {
			t.Errorf("Get(a) through first handle = %+v, %v; want version 3", got, err)
		}
	})
}

const actor = "alice"

// testConcurrentHandles writes through two handles on the same data at once,
// as two processes sharing a database file or server would.
func testConcurrentHandles(t *testing.T, openSame func(t *testing.T) triggerstore.Store) {
	ctx := context.Background()
	handles := []triggerstore.Store{openSame(t), openSame(t)}
	for _, h := range handles {
		t.Cleanup(func() { _ = h.Close() })
	}
	mustCreate(t, handles[0], "shared", `{"w":-1}`)
	const perHandle, each = 4, 5
	var wg sync.WaitGroup
	for h, s := range handles {
		for w := range perHandle {
			wg.Go(func() {
				for i := range each {
					spec := json.RawMessage(fmt.Sprintf(`{"h":%d,"w":%d,"i":%d}`, h, w, i))
					if _, err := s.Update(ctx, "shared", spec, actor, 0); err != nil {
						t.Errorf("handle %d writer %d: %v", h, w, err)
						return
					}
				}
			})
		}
	}
	wg.Wait()
	hist, err := handles[1].History(ctx, "shared")
	if err != nil {
		t.Fatal(err)
	}
	want := 1 + len(handles)*perHandle*each
	if len(hist) != want {
		t.Fatalf("history has %d versions, want %d", len(hist), want)
	}
	for i, r := range hist {
		if r.Version != int64(i+1) {
			t.Fatalf("history[%d].Version = %d, want contiguous numbering", i, r.Version)
		}
	}
	for _, h := range handles {
		if got := mustRevision(t, h); got != int64(want) {
			t.Errorf("revision = %d, want %d", got, want)
		}
	}
}

func testCreateGetList(t *testing.T, s triggerstore.Store) {
	ctx := context.Background()
	wantList(t, s) // empty store lists nothing (and not an error)
	before := time.Now().UTC().Add(-time.Second)
	rec := mustCreate(t, s, "orders.paid", `{ "table": "orders", "b": [1, 2.50, "x"], "a": {"z": true, "y": null} }`)
	if rec.Tag != "orders.paid" || rec.Version != 1 || rec.Deleted || rec.Actor != actor {
		t.Errorf("Create = %+v", rec)
	}
	if rec.ChangedAt.Location() != time.UTC || rec.ChangedAt.Before(before) || rec.ChangedAt.After(time.Now().Add(time.Second)) {
		t.Errorf("ChangedAt = %v, want UTC now", rec.ChangedAt)
	}
	// Stored in canonical form: compact, keys sorted, numbers verbatim.
	wantSpec(t, rec, `{"a":{"y":null,"z":true},"b":[1,2.50,"x"],"table":"orders"}`)
	got, err := s.Get(ctx, "orders.paid")
	if err != nil {
		t.Fatal(err)
	}
	wantSameRecord(t, got, rec)
	mustCreate(t, s, "b", `{}`)
	mustCreate(t, s, "A", `[]`)
	mustCreate(t, s, "a.b", `"x"`)
	wantList(t, s, "A", "a.b", "b", "orders.paid")
}

func testDuplicateCreate(t *testing.T, s triggerstore.Store) {
	ctx := context.Background()
	mustCreate(t, s, "t", `{"v":1}`)
	rev := mustRevision(t, s)
	_, err := s.Create(ctx, "t", json.RawMessage(`{"v":2}`), actor)
	if !errors.Is(err, triggerstore.ErrExists) {
		t.Fatalf("duplicate Create error = %v, want ErrExists", err)
	}
	got, _ := s.Get(ctx, "t")
	wantSpec(t, got, `{"v":1}`)
	if mustRevision(t, s) != rev {
		t.Error("failed create changed the revision")
	}
}

func testUpdateHistory(t *testing.T, s triggerstore.Store) {
	ctx := context.Background()
	v1 := mustCreate(t, s, "t", `{"v":1}`)
	v2, err := s.Update(ctx, "t", json.RawMessage(`{"v":2}`), "bob", 0)
	if err != nil {
		t.Fatal(err)
	}
	if v2.Version != 2 || v2.Actor != "bob" || v2.ChangedAt.Before(v1.ChangedAt) {
		t.Errorf("Update = %+v, want version 2 by bob", v2)
	}
	wantSpec(t, v2, `{"v":2}`)
	got, _ := s.Get(ctx, "t")
	wantSameRecord(t, got, v2)
	old, err := s.GetVersion(ctx, "t", 1)
	if err != nil {
		t.Fatal(err)
	}
	wantSameRecord(t, old, v1)
	hist, err := s.History(ctx, "t")
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 2 {
		t.Fatalf("History = %+v, want 2 versions", hist)
	}
	wantSameRecord(t, hist[0], v1)
	wantSameRecord(t, hist[1], v2)
	wantList(t, s, "t")
}

func testUnchangedUpdate(t *testing.T, s triggerstore.Store) {
	ctx := context.Background()
	v1 := mustCreate(t, s, "t", `{"a":1,"b":{"c":[1,2]}}`)
	rev := mustRevision(t, s)
	// Same document, different formatting and key order.
	got, err := s.Update(ctx, "t", json.RawMessage("{\n  \"b\": {\"c\": [1, 2]},\n  \"a\": 1\n}"), "bob", 0)
	if err != nil {
		t.Fatal(err)
	}
	wantSameRecord(t, got, v1) // the current record, actor unchanged
	if hist, _ := s.History(ctx, "t"); len(hist) != 1 {
		t.Errorf("unchanged update created a version: %+v", hist)
	}
	if mustRevision(t, s) != rev {
		t.Error("unchanged update changed the revision")
	}
}

func testIfVersion(t *testing.T, s triggerstore.Store) {
	ctx := context.Background()
	mustCreate(t, s, "t", `{"v":1}`)
	mustUpdate(t, s, "t", `{"v":2}`, 1)
	_, err := s.Update(ctx, "t", json.RawMessage(`{"v":3}`), actor, 1)
	if !errors.Is(err, triggerstore.ErrVersionConflict) {
		t.Fatalf("stale IfVersion error = %v, want ErrVersionConflict", err)
	}
	_, err = s.Apply(ctx, []triggerstore.Change{{Kind: triggerstore.ChangeDelete, Tag: "t", IfVersion: 5}}, actor)
	if !errors.Is(err, triggerstore.ErrVersionConflict) {
		t.Fatalf("delete with stale IfVersion error = %v, want ErrVersionConflict", err)
	}
	if got, _ := s.Get(ctx, "t"); got.Version != 2 {
		t.Errorf("version after conflicts = %d, want 2", got.Version)
	}
	mustUpdate(t, s, "t", `{"v":3}`, 2)
}

func testDeleteRecreate(t *testing.T, s triggerstore.Store) {
	ctx := context.Background()
	mustCreate(t, s, "t", `{"v":1}`)
	mustCreate(t, s, "u", `{"v":1}`)
	del, err := s.Delete(ctx, "t", "bob")
	if err != nil {
		t.Fatal(err)
	}
	if del.Version != 2 || !del.Deleted || del.Spec != nil || del.Actor != "bob" {
		t.Errorf("Delete = %+v, want deletion version 2 by bob", del)
	}
	if _, err := s.Get(ctx, "t"); !errors.Is(err, triggerstore.ErrNotFound) {
		t.Errorf("Get after delete error = %v, want ErrNotFound", err)
	}
	wantList(t, s, "u")
	if _, err := s.Delete(ctx, "t", actor); !errors.Is(err, triggerstore.ErrNotFound) {
		t.Errorf("second Delete error = %v, want ErrNotFound", err)
	}
	if _, err := s.Update(ctx, "t", json.RawMessage(`{"v":9}`), actor, 0); !errors.Is(err, triggerstore.ErrNotFound) {
		t.Errorf("Update of deleted error = %v, want ErrNotFound", err)
	}
	hist, err := s.History(ctx, "t")
	if err != nil || len(hist) != 2 || !hist[1].Deleted || hist[1].Spec != nil {
		t.Fatalf("History after delete = %+v, %v", hist, err)
	}
	if got, err := s.GetVersion(ctx, "t", 2); err != nil || !got.Deleted {
		t.Errorf("GetVersion(deletion) = %+v, %v", got, err)
	}
	v3 := mustCreate(t, s, "t", `{"v":3}`)
	if v3.Version != 3 {
		t.Errorf("recreate version = %d, want 3", v3.Version)
	}
	if hist, _ := s.History(ctx, "t"); len(hist) != 3 {
		t.Errorf("History after recreate has %d versions, want 3", len(hist))
	}
	wantList(t, s, "t", "u")
}

func testNotFound(t *testing.T, s triggerstore.Store) {
	ctx := context.Background()
	mustCreate(t, s, "t", `{}`)
	checks := map[string]error{}
	_, checks["Get"] = s.Get(ctx, "nope")
	_, checks["History"] = s.History(ctx, "nope")
	_, checks["GetVersion missing tag"] = s.GetVersion(ctx, "nope", 1)
	_, checks["GetVersion missing version"] = s.GetVersion(ctx, "t", 2)
	_, checks["GetVersion zero"] = s.GetVersion(ctx, "t", 0)
	_, checks["Update"] = s.Update(ctx, "nope", json.RawMessage(`{}`), actor, 0)
	_, checks["Delete"] = s.Delete(ctx, "nope", actor)
	for name, err := range checks {
		if !errors.Is(err, triggerstore.ErrNotFound) {
			t.Errorf("%s error = %v, want ErrNotFound", name, err)
		}
	}
}

func testInvalid(t *testing.T, s triggerstore.Store) {
	ctx := context.Background()
	for name, fn := range map[string]func() error{
		"empty tag":     func() error { _, err := s.Create(ctx, "", json.RawMessage(`{}`), actor); return err },
		"invalid JSON":  func() error { _, err := s.Create(ctx, "t", json.RawMessage(`{"a":`), actor); return err },
		"trailing data": func() error { _, err := s.Create(ctx, "t", json.RawMessage(`{} {}`), actor); return err },
		"null spec":     func() error { _, err := s.Create(ctx, "t", json.RawMessage(`null`), actor); return err },
		"nil spec":      func() error { _, err := s.Create(ctx, "t", nil, actor); return err },
		"unknown kind": func() error {
			_, err := s.Apply(ctx, []triggerstore.Change{{Kind: "rename", Tag: "t", Spec: json.RawMessage(`{}`)}}, actor)
			return err
		},
	} {
		if err := fn(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if got := mustRevision(t, s); got != 0 {
		t.Errorf("revision after invalid writes = %d, want 0", got)
	}
	wantList(t, s)
}

// testSpecFidelity checks that a spec comes back as exactly its canonical
// form, so every driver returns the same bytes and re-submitting a document
// is recognised as unchanged (a database JSON type that rewrites numbers or
// refuses some strings would fail here).
func testSpecFidelity(t *testing.T, s triggerstore.Store) {
	ctx := context.Background()
	spec := `{"big":12345678901234567890123,"e":1e2,"f":1.0,"k":1E-3,"s":"nul\u0000 <tag> & é","a":1,"a":2}`
	canon, err := triggerstore.Canonicalize(json.RawMessage(spec))
	if err != nil {
		t.Fatal(err)
	}
	rec := mustCreate(t, s, "t", spec)
	wantSpec(t, rec, string(canon))
	got, err := s.Get(ctx, "t")
	if err != nil {
		t.Fatal(err)
	}
	wantSpec(t, got, string(canon))
	same, err := s.Update(ctx, "t", json.RawMessage(spec), actor, 0)
	if err != nil {
		t.Fatal(err)
	}
	if same.Version != 1 {
		t.Errorf("re-submitting the same spec created version %d", same.Version)
	}
}

func testApplyAllOrNothing(t *testing.T, s triggerstore.Store) {
	ctx := context.Background()
	mustCreate(t, s, "existing", `{"v":1}`)
	rev := mustRevision(t, s)
	_, err := s.Apply(ctx, []triggerstore.Change{
		{Kind: triggerstore.ChangeCreate, Tag: "new", Spec: json.RawMessage(`{"v":1}`)},
		{Kind: triggerstore.ChangeUpdate, Tag: "existing", Spec: json.RawMessage(`{"v":2}`)},
		{Kind: triggerstore.ChangeCreate, Tag: "existing", Spec: json.RawMessage(`{"v":3}`)},
	}, actor)
	if !errors.Is(err, triggerstore.ErrExists) {
		t.Fatalf("Apply error = %v, want ErrExists", err)
	}
	if _, err := s.Get(ctx, "new"); !errors.Is(err, triggerstore.ErrNotFound) {
		t.Errorf("failed batch left 'new' behind: %v", err)
	}
	if _, err := s.History(ctx, "new"); !errors.Is(err, triggerstore.ErrNotFound) {
		t.Errorf("failed batch left history of 'new': %v", err)
	}
	if got, _ := s.Get(ctx, "existing"); got.Version != 1 {
		t.Errorf("failed batch updated 'existing' to version %d", got.Version)
	}
	if mustRevision(t, s) != rev {
		t.Error("failed batch changed the revision")
	}

	// A successful batch sees its own earlier changes.
	recs, err := s.Apply(ctx, []triggerstore.Change{
		{Kind: triggerstore.ChangeCreate, Tag: "new", Spec: json.RawMessage(`{"v":1}`)},
		{Kind: triggerstore.ChangeUpdate, Tag: "new", Spec: json.RawMessage(`{"v":2}`), IfVersion: 1},
		{Kind: triggerstore.ChangeDelete, Tag: "existing"},
	}, "bob")
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 3 || recs[0].Version != 1 || recs[1].Version != 2 || !recs[2].Deleted || recs[2].Version != 2 {
		t.Errorf("Apply records = %+v", recs)
	}
	for _, r := range recs {
		if r.Actor != "bob" || !r.ChangedAt.Equal(recs[0].ChangedAt) {
			t.Errorf("batch record %+v: want actor bob and one timestamp for the batch", r)
		}
	}
	wantList(t, s, "new")
	if got := mustRevision(t, s); got != rev+3 {
		t.Errorf("revision after batch of 3 = %d, want %d", got, rev+3)
	}
	if recs, err := s.Apply(ctx, nil, actor); err != nil || len(recs) != 0 {
		t.Errorf("empty Apply = %v, %v", recs, err)
	}
}

func testApplyUpsert(t *testing.T, s triggerstore.Store) {
	ctx := context.Background()
	mustCreate(t, s, "same", `{"v":1}`)
	mustCreate(t, s, "changed", `{"v":1}`)
	mustCreate(t, s, "gone", `{"v":1}`)
	if _, err := s.Delete(ctx, "gone", actor); err != nil {
		t.Fatal(err)
	}
	rev := mustRevision(t, s)
	recs, err := s.Apply(ctx, []triggerstore.Change{
		{Kind: triggerstore.ChangeUpsert, Tag: "same", Spec: json.RawMessage(`{ "v" : 1 }`)},
		{Kind: triggerstore.ChangeUpsert, Tag: "changed", Spec: json.RawMessage(`{"v":2}`)},
		{Kind: triggerstore.ChangeUpsert, Tag: "gone", Spec: json.RawMessage(`{"v":3}`)},
		{Kind: triggerstore.ChangeUpsert, Tag: "fresh", Spec: json.RawMessage(`{"v":1}`)},
	}, "bob")
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		version int64
		actor   string
	}{{1, actor}, {2, "bob"}, {3, "bob"}, {1, "bob"}}
	for i, w := range want {
		if recs[i].Version != w.version || recs[i].Actor != w.actor {
			t.Errorf("upsert %s = version %d by %s, want %d by %s", recs[i].Tag, recs[i].Version, recs[i].Actor, w.version, w.actor)
		}
	}
	if got := mustRevision(t, s); got != rev+3 {
		t.Errorf("revision = %d, want %d (unchanged upsert writes nothing)", got, rev+3)
	}
	// Applying the same batch again is a no-op.
	again, err := s.Apply(ctx, []triggerstore.Change{
		{Kind: triggerstore.ChangeUpsert, Tag: "changed", Spec: json.RawMessage(`{"v":2}`)},
		{Kind: triggerstore.ChangeUpsert, Tag: "fresh", Spec: json.RawMessage(`{"v":1}`)},
	}, "carol")
	if err != nil {
		t.Fatal(err)
	}
	wantSameRecord(t, again[0], recs[1])
	wantSameRecord(t, again[1], recs[3])
	if got := mustRevision(t, s); got != rev+3 {
		t.Errorf("revision after idempotent apply = %d, want %d", got, rev+3)
	}
}

func testRevision(t *testing.T, s triggerstore.Store) {
	ctx := context.Background()
	r0 := mustRevision(t, s)
	if r0 != 0 {
		t.Errorf("empty store revision = %d, want 0", r0)
	}
	step := func(what string, fn func() error, grows bool) {
		t.Helper()
		before := mustRevision(t, s)
		err := fn()
		after := mustRevision(t, s)
		switch {
		case grows && err != nil:
			t.Fatalf("%s: %v", what, err)
		case grows && after <= before:
			t.Errorf("%s: revision %d -> %d, want growth", what, before, after)
		case !grows && after != before:
			t.Errorf("%s: revision %d -> %d, want unchanged", what, before, after)
		}
	}
	spec := json.RawMessage(`{"v":1}`)
	step("create", func() error { _, err := s.Create(ctx, "t", spec, actor); return err }, true)
	step("create other", func() error { _, err := s.Create(ctx, "u", spec, actor); return err }, true)
	step("unchanged update", func() error { _, err := s.Update(ctx, "t", spec, actor, 0); return err }, false)
	step("failed create", func() error { _, err := s.Create(ctx, "t", spec, actor); return err }, false)
	step("reads", func() error { _, err := s.List(ctx); return err }, false)
	step("update", func() error { _, err := s.Update(ctx, "t", json.RawMessage(`{"v":2}`), actor, 0); return err }, true)
	step("delete", func() error { _, err := s.Delete(ctx, "t", actor); return err }, true)
	step("recreate", func() error { _, err := s.Create(ctx, "t", spec, actor); return err }, true)
}

func testConcurrentUpdates(t *testing.T, s triggerstore.Store) {
	ctx := context.Background()
	mustCreate(t, s, "hot", `{"writer":-1,"i":-1}`)
	const writers, each = 8, 10
	var wg sync.WaitGroup
	versions := make(chan int64, writers*each)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				spec := json.RawMessage(fmt.Sprintf(`{"writer":%d,"i":%d}`, w, i))
				rec, err := s.Update(ctx, "hot", spec, fmt.Sprintf("w%d", w), 0)
				if err != nil {
					t.Errorf("writer %d update %d: %v", w, i, err)
					return
				}
				versions <- rec.Version
			}
		})
	}
	wg.Wait()
	close(versions)
	seen := map[int64]bool{}
	for v := range versions {
		if seen[v] {
			t.Errorf("version %d returned twice", v)
		}
		seen[v] = true
	}
	hist, err := s.History(ctx, "hot")
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 1+writers*each {
		t.Fatalf("history has %d versions, want %d (updates lost)", len(hist), 1+writers*each)
	}
	specs := map[string]bool{}
	for i, r := range hist {
		if r.Version != int64(i+1) {
			t.Fatalf("history[%d].Version = %d, want contiguous numbering", i, r.Version)
		}
		specs[string(r.Spec)] = true
	}
	if len(specs) != len(hist) {
		t.Errorf("history holds %d distinct specs for %d versions", len(specs), len(hist))
	}
	if got := mustRevision(t, s); got != int64(len(hist)) {
		t.Errorf("revision = %d, want %d", got, len(hist))
	}
}

func testConcurrentCreates(t *testing.T, s triggerstore.Store) {
	ctx := context.Background()
	const writers = 8
	var (
		wg             sync.WaitGroup
		mu             sync.Mutex
		created, exist int
	)
	for w := range writers {
		wg.Go(func() {
			_, err := s.Create(ctx, "race", json.RawMessage(fmt.Sprintf(`{"w":%d}`, w)), actor)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				created++
			case errors.Is(err, triggerstore.ErrExists):
				exist++
			default:
				t.Errorf("create: %v", err)
			}
		})
	}
	wg.Wait()
	if created != 1 || exist != writers-1 {
		t.Errorf("concurrent creates: %d succeeded, %d ErrExists; want 1 and %d", created, exist, writers-1)
	}
}

func mustCreate(t *testing.T, s triggerstore.Store, tag, spec string) triggerstore.Record {
	t.Helper()
	rec, err := s.Create(context.Background(), tag, json.RawMessage(spec), actor)
	if err != nil {
		t.Fatalf("Create(%q): %v", tag, err)
	}
	return rec
}

func mustUpdate(t *testing.T, s triggerstore.Store, tag, spec string, ifVersion int64) triggerstore.Record {
	t.Helper()
	rec, err := s.Update(context.Background(), tag, json.RawMessage(spec), actor, ifVersion)
	if err != nil {
		t.Fatalf("Update(%q): %v", tag, err)
	}
	return rec
}

func mustRevision(t *testing.T, s triggerstore.Store) int64 {
	t.Helper()
	rev, err := s.Revision(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return rev
}

func wantList(t *testing.T, s triggerstore.Store, tags ...string) {
	t.Helper()
	recs, err := s.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if recs == nil {
		t.Error("List returned nil, want an empty slice")
	}
	got := make([]string, len(recs))
	for i, r := range recs {
		got[i] = r.Tag
		if r.Deleted {
			t.Errorf("List returned deleted %q", r.Tag)
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(tags) {
		t.Errorf("List tags = %q, want %q", got, tags)
	}
}

func wantSpec(t *testing.T, rec triggerstore.Record, want string) {
	t.Helper()
	if string(rec.Spec) != want {
		t.Errorf("%s v%d spec = %s, want %s", rec.Tag, rec.Version, rec.Spec, want)
	}
}

func wantSameRecord(t *testing.T, got, want triggerstore.Record) {
	t.Helper()
	if got.Tag != want.Tag || got.Version != want.Version || string(got.Spec) != string(want.Spec) ||
		got.Deleted != want.Deleted || got.Actor != want.Actor || !got.ChangedAt.Equal(want.ChangedAt) ||
		got.ChangedAt.Location() != time.UTC {
		t.Errorf("record = %+v\nwant      %+v", got, want)
	}
}
