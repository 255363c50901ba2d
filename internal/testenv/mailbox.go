package testenv

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// Mail is one message of the test SMTP server's mailbox API.
type Mail struct {
	To      []string `json:"To"`
	Content struct {
		Headers map[string][]string `json:"Headers"`
		Body    string              `json:"Body"`
	} `json:"Content"`
}

// Mailbox returns the messages the test SMTP server accepted for rcpt,
// newest first. The server is shared, so each test uses recipients of its
// own rather than clearing the mailbox.
func Mailbox(t testing.TB, rcpt string) []Mail {
	t.Helper()
	resp, err := http.Get(SMTPAPI(t) + "/api/v2/messages")
	if err != nil {
		t.Fatalf("mailbox: %v", err)
	}
	defer resp.Body.Close()
	var page struct {
		Items []Mail `json:"items"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
		t.Fatalf("mailbox: %v", err)
	}
	var out []Mail
	for _, m := range page.Items {
		for _, to := range m.To {
			if strings.EqualFold(to, rcpt) {
				out = append(out, m)
				break
			}
		}
	}
	return out
}
