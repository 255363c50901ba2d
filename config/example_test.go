package config_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/triggerd/triggerd/config"
)

func ExampleLoad() {
	dir, _ := os.MkdirTemp("", "triggerd-config")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "triggerd.yaml")
	_ = os.WriteFile(path, []byte(`
kafka:
  brokers: [kafka:9092]
  topics: [dbserver1.public.users, dbserver1.public.orders]
temporal:
  address: temporal:7233
`), 0o600)

	// The environment wins over the file.
	cfg, err := config.Load(path, []string{"TRIGGERD_TEMPORAL_ADDRESS=127.0.0.1:7233", "TRIGGERD_KAFKA_CONSUMERS=2"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(cfg.Kafka.Brokers, cfg.Kafka.Topics, cfg.Kafka.Consumers, cfg.Kafka.GroupID)
	fmt.Println(cfg.Temporal.Address, cfg.Temporal.TaskQueue)

	// Every problem is reported at once, with its field path.
	_, err = config.Load("", []string{"TRIGGERD_LOG_LEVEL=loud"})
	fmt.Println(err)
	// Output:
	// [kafka:9092] [dbserver1.public.users dbserver1.public.orders] 2 triggerd
	// 127.0.0.1:7233 triggerd
	// invalid config: log.level: must be one of debug, info, warn, error, got "loud"; kafka.brokers: must not be empty; kafka.topics: one of kafka.topics and kafka.topicPattern must be set
}
