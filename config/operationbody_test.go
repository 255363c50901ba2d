package config

import "testing"

func TestOperationBodyType(t *testing.T) {
	p := writeFile(t, "c.yaml", `
kafka: {brokers: [a:1], topics: [t]}
integrations:
  stripe:
    baseUrl: https://api.stripe.example/v1
    operations:
      refund: {path: /refunds, bodyType: form, contentType: application/x-www-form-urlencoded, body: {payment_intent: "{{id}}"}}
      customer: {path: /customers, bodyType: form}
      note: {path: /notes, bodyType: raw, body: "order {{id}}"}
`)
	c, err := Load(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if op := c.Integrations["stripe"].Operations["refund"]; op.BodyType != BodyForm || op.ContentType != "application/x-www-form-urlencoded" {
		t.Errorf("refund %+v", op)
	}

	p = writeFile(t, "bad.yaml", `
kafka: {brokers: [a:1], topics: [t]}
integrations:
  stripe:
    baseUrl: https://api.stripe.example/v1
    operations:
      xml: {path: /x, bodyType: xml}
      form: {path: /f, bodyType: form, body: "a=b"}
      raw: {path: /r, bodyType: raw, body: {a: b}}
      rawnone: {path: /r, bodyType: raw}
`)
	_, err = Load(p, nil)
	probs := problemsOf(t, err)
	for _, want := range [][2]string{
		{"integrations.stripe.operations.xml.bodyType", "must be one of json, form, raw"},
		{"integrations.stripe.operations.form.body", "bodyType form needs a mapping"},
		{"integrations.stripe.operations.raw.body", "bodyType raw needs a string"},
		{"integrations.stripe.operations.rawnone.body", "bodyType raw needs a string"},
	} {
		if !hasProblem(probs, want[0], want[1]) {
			t.Errorf("no problem %v in\n%v", want, probs)
		}
	}
}
