package run_test

import (
	"fmt"
	"testing"

	"github.com/triggerd/triggerd/run"
)

func ExampleParseCascadeMarker() {
	chain, txID := run.ParseCascadeMarker("on-signup,on-order@4711")
	fmt.Println(chain, txID)
	chain, txID = run.ParseCascadeMarker("on-signup,on-order") // {{run.cascade}}
	fmt.Printf("%v %q\n", chain, txID)
	// Output:
	// [on-signup on-order] 4711
	// [on-signup on-order] ""
}

func TestParseCascadeMarker(t *testing.T) {
	for _, tc := range []struct {
		in, chain, txID string
	}{
		{"t1,t2@42", "t1,t2", "42"},
		{"t1, t2 @ 42", "t1,t2", "42"},
		{"t1,t2", "t1,t2", ""},
		{"t1,user@example", "t1,user@example", ""}, // not an xid: part of the chain
		{"@42", "", "42"},
		{"", "", ""},
	} {
		chain, txID := run.ParseCascadeMarker(tc.in)
		if got := run.FormatCascade(chain); got != tc.chain || txID != tc.txID {
			t.Errorf("ParseCascadeMarker(%q) = %q, %q; want %q, %q", tc.in, got, txID, tc.chain, tc.txID)
		}
	}
}

func TestSameTxID(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"771", "771", true},
		{"4294968067", "771", true}, // txid_current() with epoch 1 vs the 32-bit xid
		{"770", "771", false},
		{"771", "", false},
		{"", "", false},
		{"0a001b", "0a001b", true}, // non-numeric ids: equal strings
		{"0a001b", "0a001c", false},
	} {
		if got := run.SameTxID(tc.a, tc.b); got != tc.want {
			t.Errorf("SameTxID(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}
