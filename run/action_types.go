package run

// Action types: the values of Action.Type, the names the language accepts
// (trigger), the activities are registered under (activities), and the
// workflow recognises (workflows). One list, so that the three cannot
// drift; a test (docs/actions_test.go) checks that every type the language
// accepts is registered or run by the workflow, and the other way round.
const (
	TypeHTTP             = "http"
	TypePublish          = "broker.publish"
	TypeCacheSet         = "cache.set"
	TypeCacheDelete      = "cache.delete"
	TypeCacheGet         = "cache.get"
	TypeCacheInvalidate  = "cache.invalidate"
	TypeLog              = "log"
	TypeDatabaseInsert   = "database.insert"
	TypeDatabaseUpdate   = "database.update"
	TypeDatabaseUpsert   = "database.upsert"
	TypeDatabaseDelete   = "database.delete"
	TypeStorageUpload    = "storage.upload"
	TypeStorageDelete    = "storage.delete"
	TypeStorageCopy      = "storage.copy"
	TypeNotifyEmail      = "notification.email"
	TypeNotifySMS        = "notification.sms"
	TypeNotifyPush       = "notification.push"
	TypeNotifyCallback   = "notification.callback"
	TypeAppAction        = "action.execute"
	TypeAgentRun         = "agent.run"
	TypeCustom           = "custom"
	TypeWorkflowExecute  = "workflow.execute"
	TypeWorkflowDispatch = "workflow.dispatch"
)

// WorkflowActionTypes are the action types the workflow runs itself, as
// child workflows, rather than as activities.
func WorkflowActionTypes() []string { return []string{TypeWorkflowExecute, TypeWorkflowDispatch} }
