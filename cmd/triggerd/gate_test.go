package main

import (
	"context"
	"errors"
	"testing"

	"github.com/triggerd/triggerd/gate/gateclient"
)

// checkDevGate asks the gate of a `triggerd dev` about the sample users
// (examples/triggers/users-gate.yaml).
func checkDevGate(t *testing.T, api string) {
	t.Helper()
	gc := gateclient.New(api)
	ctx := context.Background()
	rows, err := gc.Insert(ctx, "users", []map[string]any{{"email": "Ada@Example.COM", "first_name": "Ada", "last_name": "Lovelace"}})
	if err != nil {
		t.Fatalf("gate insert: %v", err)
	}
	if rows[0]["email"] != "ada@example.com" || rows[0]["role"] != "member" || rows[0]["full_name"] != "Ada Lovelace" {
		t.Fatalf("gate rewrote to %v", rows[0])
	}
	_, err = gc.Insert(ctx, "users", []map[string]any{{"email": "ada"}})
	var ve *gateclient.ValidationError
	if !errors.As(err, &ve) || ve.Errors[0].Trigger != "users-validate" || ve.Errors[0].Message != "ada is not a valid email address" {
		t.Fatalf("gate on an invalid email: %v", err)
	}
}
