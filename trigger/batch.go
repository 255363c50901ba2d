package trigger

// batchRecords is the records or previousRecords root of a `for: all`
// run's scope, as a list (null outside such a run).
func batchRecords(sc *Scope, root string) any {
	l := sc.Records
	if root == "previousRecords" {
		l = sc.PreviousRecords
	}
	if l == nil {
		return nil
	}
	out := make([]any, len(l))
	for i, r := range l {
		out[i] = mapOrNil(r)
	}
	return out
}
