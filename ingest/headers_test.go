package ingest

import (
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/triggerd/triggerd/internal/testenv"
	"github.com/triggerd/triggerd/run"
)

// A message whose skip or cascade header does not parse goes to the DLQ
// with the reason, on a real Kafka; the messages around it run, and the
// partition moves on past it.
func TestBadDeliveryHeadersGoToTheDLQ(t *testing.T) {
	brokers := strings.Split(testenv.KafkaBrokers(t), ",")
	cfg, topic := baseConfig(t, brokers, 1)
	with := func(r record, k, v string) record {
		r.headers = []kgo.RecordHeader{{Key: k, Value: []byte(v)}}
		return r
	}
	good1, good2 := dbzInsert("users", 1, 500), with(dbzInsert("users", 2, 501), run.HeaderCascade, "on-signup")
	badSkip := with(dbzInsert("users", 3, 502), run.HeaderSkipTriggers, "perhaps")
	badCascade := with(dbzInsert("users", 4, 503), run.HeaderCascade, "on-signup,,<script>")
	skipped := with(dbzInsert("users", 5, 504), run.HeaderSkipTriggers, "yes")
	produce(t, brokers, topic, good1, badSkip, badCascade, skipped, good2)

	st := &recordingStarter{}
	var dead atomic.Int32
	rc := startConsumer(t, cfg, fakePlanner{tags: []string{"t"}}, st,
		WithHooks(Hooks{DeadLettered: func(kafka.Message, error) { dead.Add(1) }}))
	assert.ElementsMatch(t, wantIDs(t, []string{"t"}, good1, good2), st.waitFor(t, 2))

	dlq := consumeAll(t, brokers, cfg.DLQTopic, 2)
	header := func(r *kgo.Record, key string) string {
		for _, h := range r.Headers {
			if h.Key == key {
				return string(h.Value)
			}
		}
		return ""
	}
	reason := func(r *kgo.Record) string { return header(r, HeaderError) }
	// Written as each was processed, in any order: by source offset.
	slices.SortFunc(dlq, func(a, b *kgo.Record) int {
		return strings.Compare(header(a, HeaderSourceOffset), header(b, HeaderSourceOffset))
	})
	assert.Equal(t, badSkip.value, string(dlq[0].Value))
	assert.Equal(t, `header triggerd-skip-triggers: unknown value "perhaps" (want true or false)`, reason(dlq[0]))
	assert.Equal(t, badCascade.value, string(dlq[1].Value))
	assert.Equal(t, `header triggerd-cascade: entry 2 is empty (want trigger tags separated by commas)`, reason(dlq[1]))

	require.Eventually(t, func() bool { return committed(t, brokers, cfg.GroupID, topic, 1)[0] == 5 },
		10*time.Second, 20*time.Millisecond)
	rc.stop(t)
	assert.EqualValues(t, 2, dead.Load())
}
