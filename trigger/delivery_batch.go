package trigger

import (
	"fmt"

	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/trigger/template"
	"github.com/triggerd/triggerd/trigger/value"
)

// A trigger's `delivery:` block. Today it holds one setting, batch:
//
//	delivery:
//	  batch: {max: 100, wait: 50ms}
//
// turns on batched delivery: ingest hands the trigger's runs to a
// delivery workflow per source partition, which carries many of them in
// one workflow (run.BatchedDelivery, docs/semantics.md "Batched
// delivery"). Each event is still its own run: `for: all`, which makes ONE
// run of many events, is a different thing and cannot be combined with it.

// deliveryBatchFields are the definition's keys of this file.
var deliveryBatchFields = []string{"delivery"}

// decodeDeliveryBatch reads the definition's delivery block into s.
func decodeDeliveryBatch(m map[string]any, f func(string) string, p problems, s *Delivery) {
	v, ok := m["delivery"]
	if !ok || v == nil {
		return
	}
	field := f("delivery")
	dm, ok := v.(map[string]any)
	if !ok {
		p.add(field, "must be a mapping (batch)")
		return
	}
	unknownFields(dm, []string{"batch"}, field, p)
	bv, ok := dm["batch"]
	if !ok || bv == nil {
		return
	}
	bf := template.JoinField(field, "batch")
	bm, ok := bv.(map[string]any)
	if !ok {
		p.add(bf, "must be a mapping (max, wait)")
		return
	}
	unknownFields(bm, []string{"max", "wait"}, bf, p)
	b := &run.BatchedDelivery{Max: run.DefaultDeliveryMax}
	if x, ok := bm["max"]; ok && x != nil {
		n, ok := toInt(x)
		if !ok {
			p.add(template.JoinField(bf, "max"), "must be an integer")
		}
		b.Max = n
	}
	if x, ok := bm["wait"]; ok && x != nil {
		d, err := value.ParseDuration(x)
		if err != nil {
			p.add(template.JoinField(bf, "wait"), "%v", err)
		}
		b.Wait = d.Std()
	}
	s.Batch = b
}

// checkDeliveryBatch validates the delivery block of d.
func checkDeliveryBatch(d *Definition, p problems) {
	b := d.Batch
	if b == nil {
		return
	}
	if b.Max < 1 || b.Max > run.MaxDeliveryMax {
		p.add("delivery.batch.max", "must be between 1 and %d", run.MaxDeliveryMax)
	}
	if b.Wait < 0 || b.Wait > run.MaxDeliveryWait {
		p.add("delivery.batch.wait", "must be between 0 and %s", run.MaxDeliveryWait)
	}
	if d.For == ForAll {
		p.add("delivery.batch", "cannot be combined with for: all (which makes one run of many events; batched delivery keeps a run per event)")
	}
	for i, a := range d.Actions {
		if a.Timing == run.TimingSync {
			p.add(fmt.Sprintf("actions[%d].timing", i), "sync orders a record's runs one at a time; a trigger with delivery.batch runs them side by side")
		}
	}
}

// documentDeliveryBatch adds s's delivery block to a definition's document.
func documentDeliveryBatch(s Delivery, doc map[string]any) {
	if s.Batch == nil {
		return
	}
	b := map[string]any{"max": s.Batch.Max}
	if s.Batch.Wait > 0 {
		b["wait"] = s.Batch.Wait.String()
	}
	doc["delivery"] = map[string]any{"batch": b}
}
