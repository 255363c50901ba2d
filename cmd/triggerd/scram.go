package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"

	"github.com/segmentio/kafka-go/sasl"
)

// scramMechanism is a SCRAM client (RFC 5802) for kafka-go. kafka-go's own
// sasl/scram package needs github.com/xdg-go/scram, which this module does
// not require; the standard library has everything SCRAM needs.
type scramMechanism struct {
	newHash  func() hash.Hash
	name     string
	user     string
	password string
}

func newScram(h func() hash.Hash, name, user, password string) sasl.Mechanism {
	return scramMechanism{newHash: h, name: name, user: user, password: password}
}

func (m scramMechanism) Name() string { return m.name }

func (m scramMechanism) Start(context.Context) (sasl.StateMachine, []byte, error) {
	var nonce [24]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return nil, nil, err
	}
	s := &scramSession{m: m, clientNonce: base64.RawStdEncoding.EncodeToString(nonce[:])}
	user := strings.NewReplacer("=", "=3D", ",", "=2C").Replace(m.user)
	s.clientFirstBare = "n=" + user + ",r=" + s.clientNonce
	return s, []byte("n,," + s.clientFirstBare), nil
}

type scramSession struct {
	m               scramMechanism
	clientNonce     string
	clientFirstBare string
	serverSignature []byte
	step            int
}

func (s *scramSession) Next(_ context.Context, challenge []byte) (bool, []byte, error) {
	s.step++
	switch s.step {
	case 1:
		return s.clientFinal(string(challenge))
	case 2:
		attrs := scramAttrs(string(challenge))
		if e, ok := attrs["e"]; ok {
			return false, nil, fmt.Errorf("SCRAM: server error %q", e)
		}
		sig, err := base64.StdEncoding.DecodeString(attrs["v"])
		if err != nil || !hmac.Equal(sig, s.serverSignature) {
			return false, nil, errors.New("SCRAM: server signature does not verify")
		}
		return true, nil, nil
	}
	return false, nil, errors.New("SCRAM: unexpected challenge")
}

func (s *scramSession) clientFinal(serverFirst string) (bool, []byte, error) {
	attrs := scramAttrs(serverFirst)
	nonce, saltB64, iterStr := attrs["r"], attrs["s"], attrs["i"]
	if !strings.HasPrefix(nonce, s.clientNonce) || len(nonce) == len(s.clientNonce) {
		return false, nil, errors.New("SCRAM: server nonce does not extend the client nonce")
	}
	salt, err := base64.StdEncoding.DecodeString(saltB64)
	if err != nil {
		return false, nil, errors.New("SCRAM: invalid salt")
	}
	iter, err := strconv.Atoi(iterStr)
	if err != nil || iter < 1 {
		return false, nil, errors.New("SCRAM: invalid iteration count")
	}
	salted, err := pbkdf2.Key(s.m.newHash, s.m.password, salt, iter, s.m.newHash().Size())
	if err != nil {
		return false, nil, fmt.Errorf("SCRAM: %w", err)
	}
	mac := func(key []byte, msg string) []byte {
		h := hmac.New(s.m.newHash, key)
		h.Write([]byte(msg))
		return h.Sum(nil)
	}
	clientKey := mac(salted, "Client Key")
	h := s.m.newHash()
	h.Write(clientKey)
	storedKey := h.Sum(nil)
	withoutProof := "c=biws,r=" + nonce // biws = base64("n,,")
	authMessage := s.clientFirstBare + "," + serverFirst + "," + withoutProof
	sig := mac(storedKey, authMessage)
	proof := bytes.Clone(clientKey)
	for i := range proof {
		proof[i] ^= sig[i]
	}
	s.serverSignature = mac(mac(salted, "Server Key"), authMessage)
	return false, []byte(withoutProof + ",p=" + base64.StdEncoding.EncodeToString(proof)), nil
}

func scramAttrs(msg string) map[string]string {
	out := map[string]string{}
	for part := range strings.SplitSeq(msg, ",") {
		if k, v, ok := strings.Cut(part, "="); ok && len(k) == 1 {
			out[k] = v
		}
	}
	return out
}
