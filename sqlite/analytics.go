package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/promptreg/promptreg/registry"
)

// buckets are the periods of AnalyticsQuery.Bucket: the prefix of a stored
// time that names its period, and the layout that parses it. Stored times
// are UTC, so periods are UTC hours and days.
var buckets = map[string]struct{ key, layout string }{
	"hour": {"substr(created_at, 1, 13)", "2006-01-02T15"},
	"day":  {"substr(created_at, 1, 10)", "2006-01-02"},
}

// PromptsAnalytics returns the figures (see PromptAnalytics) of every prompt
// with finished executions matching q, ordered by name; none is an empty
// slice. q.Bucket is checked but adds nothing: a series is per prompt.
// Errors: EINVALID for an unknown bucket or Until not after Since;
// EINTERNAL, ETIMEOUT.
func (s *Store) PromptsAnalytics(ctx context.Context, q registry.AnalyticsQuery) ([]registry.PromptStats, error) {
	const op = "analytics"
	where, args, _, err := analyticsFilter(op, q)
	if err != nil {
		return nil, err
	}
	out := []registry.PromptStats{}
	err = s.read(ctx, op, func(tx *sql.Tx) error {
		groups, err := groupStats(ctx, tx, "prompt_name", where, args)
		for _, g := range groups {
			out = append(out, registry.PromptStats{PromptName: g.key, Stats: g.Stats})
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// PromptAnalytics returns the figures of q.PromptName's finished
// executions (succeeded and failed) created in [q.Since, q.Until) (a zero
// time leaves that side open), of q.Mode and q.Environment if set: in
// total, per version and per environment (ordered by version and by name),
// and per UTC hour or day if q.Bucket asks (ordered by time; periods
// without executions are left out). Latency percentiles are exact, by
// nearest rank over the succeeded executions' latencies, nil without any;
// the error rate is failed / executions; the cost is the sum of the known
// costs, nil when none is known, and UnpricedExecutions counts the others.
// All the figures come from one read transaction. A prompt without
// executions has zero figures. Errors: EINVALID without a prompt name, for
// an unknown bucket or Until not after Since; EINTERNAL, ETIMEOUT.
func (s *Store) PromptAnalytics(ctx context.Context, q registry.AnalyticsQuery) (registry.PromptAnalytics, error) {
	const op = "prompt analytics"
	if q.PromptName == "" {
		return registry.PromptAnalytics{}, registry.Errorf(registry.EINVALID, "%s: no prompt name", op)
	}
	where, args, bucket, err := analyticsFilter(op, q)
	if err != nil {
		return registry.PromptAnalytics{}, err
	}
	out := registry.PromptAnalytics{
		PromptName:    q.PromptName,
		ByVersion:     []registry.PromptStats{},
		ByEnvironment: []registry.PromptStats{},
	}
	err = s.read(ctx, op+" of "+q.PromptName, func(tx *sql.Tx) error {
		total, err := groupStats(ctx, tx, "", where, args)
		if err != nil {
			return err
		}
		out.Total = total[0].Stats
		if out.Total.Executions == 0 {
			return nil
		}
		versions, err := groupStats(ctx, tx, "version", where, args)
		if err != nil {
			return err
		}
		for _, g := range versions {
			v, err := strconv.Atoi(g.key)
			if err != nil {
				return &causeError{ErrDamaged, fmt.Errorf("stored version %q: %w", g.key, err)}
			}
			out.ByVersion = append(out.ByVersion, registry.PromptStats{PromptName: q.PromptName, Version: v, Stats: g.Stats})
		}
		envs, err := groupStats(ctx, tx, "environment", where, args)
		if err != nil {
			return err
		}
		for _, g := range envs {
			out.ByEnvironment = append(out.ByEnvironment, registry.PromptStats{PromptName: q.PromptName, Environment: g.key, Stats: g.Stats})
		}
		if bucket.key == "" {
			return nil
		}
		periods, err := groupStats(ctx, tx, bucket.key, where, args)
		if err != nil {
			return err
		}
		for _, g := range periods {
			start, err := time.Parse(bucket.layout, g.key)
			if err != nil {
				return &causeError{ErrDamaged, fmt.Errorf("stored time %q: %w", g.key, err)}
			}
			out.Series = append(out.Series, registry.BucketStats{Start: start, Stats: g.Stats})
		}
		return nil
	})
	if err != nil {
		return registry.PromptAnalytics{}, err
	}
	return out, nil
}

// analyticsFilter returns the WHERE clause and arguments that select the
// executions q summarises, and q's bucket (zero for none). Errors: EINVALID.
func analyticsFilter(op string, q registry.AnalyticsQuery) (where string, args []any, bucket struct{ key, layout string }, err error) {
	if q.Bucket != "" {
		var ok bool
		if bucket, ok = buckets[q.Bucket]; !ok {
			return "", nil, bucket, registry.Errorf(registry.EINVALID, "%s: bucket %q is not hour or day", op, q.Bucket)
		}
	}
	if err := checkWindow(op, q.Since, q.Until); err != nil {
		return "", nil, bucket, err
	}
	conds := []string{"status IN ('succeeded', 'failed')"}
	add := func(cond string, arg any) {
		conds = append(conds, cond)
		args = append(args, arg)
	}
	if q.PromptName != "" {
		add("prompt_name = ?", q.PromptName)
	}
	if !q.Since.IsZero() {
		add("created_at >= ?", timeValue(q.Since))
	}
	if !q.Until.IsZero() {
		add("created_at < ?", timeValue(q.Until))
	}
	if q.Mode != "" {
		add("mode = ?", q.Mode)
	}
	if q.Environment != "" {
		add("environment = ?", q.Environment)
	}
	return strings.Join(conds, " AND "), args, bucket, nil
}

// group is the figures of the executions with one value of a key.
type group struct {
	key string
	registry.Stats
}

// groupStats returns the figures of the executions that where selects,
// grouped by the expression key and ordered by it, or, with key "", the one
// group of them all (with zero figures if there are none).
//
// The executions are read through executions_prompt, which covers every
// column the figures need (SQLite would rather take executions_status for
// the status, then read each row from the table). One scan computes every
// figure but the percentiles, for which SQLite gives each group's
// succeeded latencies as one text value, parsed and sorted here: the
// nearest rank needs them all, and one value per group spares a row per
// execution through database/sql, which costs more than the scan itself.
func groupStats(ctx context.Context, tx *sql.Tx, key, where string, args []any) ([]group, error) {
	rows, err := tx.QueryContext(ctx, groupQuery(key, where), args...)
	if err != nil {
		return nil, err
	}
	var out []group
	var latencies []int64
	for rows.Next() {
		var g group
		var priced int64
		var cost sql.NullFloat64
		var lat sql.RawBytes
		if err := rows.Scan(&g.key, &g.Executions, &g.PromptTokens, &g.CompletionTokens, &cost, &priced, &lat); err != nil {
			rows.Close()
			return nil, err
		}
		g.UnpricedExecutions = g.Executions - priced
		if cost.Valid {
			g.CostUSD = &cost.Float64
		}
		if latencies, err = parseLatencies(latencies[:0], lat); err != nil {
			rows.Close()
			return nil, err
		}
		// Finished executions are succeeded (one latency each) or failed.
		g.Failed = g.Executions - int64(len(latencies))
		if g.Executions > 0 {
			g.ErrorRate = float64(g.Failed) / float64(g.Executions)
		}
		if len(latencies) > 0 {
			slices.Sort(latencies)
			g.LatencyP50MS = nearestRank(latencies, 50)
			g.LatencyP95MS = nearestRank(latencies, 95)
			g.LatencyP99MS = nearestRank(latencies, 99)
		}
		out = append(out, g)
	}
	return out, closeRows(rows)
}

// groupQuery returns the query of groupStats.
func groupQuery(key, where string) string {
	sel := key
	if key == "" {
		sel = "''"
	}
	query := "SELECT " + sel + `, count(*),
    coalesce(sum(prompt_tokens), 0), coalesce(sum(completion_tokens), 0), sum(cost_usd), count(cost_usd),
    group_concat(latency_ms) FILTER (WHERE status = 'succeeded')
FROM executions INDEXED BY executions_prompt WHERE ` + where
	if key != "" {
		query += " GROUP BY 1 ORDER BY 1"
	}
	return query
}

// parseLatencies appends to dst the integers of list, as group_concat
// writes them (decimal, separated by commas). Anything else was not written
// by the store: the file is damaged.
func parseLatencies(dst []int64, list []byte) ([]int64, error) {
	for len(list) > 0 {
		var v int64
		i, neg := 0, list[0] == '-'
		if neg {
			i++
		}
		start := i
		for ; i < len(list) && list[i] >= '0' && list[i] <= '9'; i++ {
			v = v*10 + int64(list[i]-'0')
		}
		if i == start || i-start > 18 || (i < len(list) && list[i] != ',') {
			return nil, &causeError{ErrDamaged, fmt.Errorf("stored latency in %.40q", list)}
		}
		if neg {
			v = -v
		}
		dst = append(dst, v)
		list = list[min(i+1, len(list)):]
	}
	return dst, nil
}

// nearestRank returns the p-th percentile of sorted (not empty) by nearest
// rank: the value at rank ⌈p/100 × n⌉.
func nearestRank(sorted []int64, p int) *int64 {
	k := (p*len(sorted) + 99) / 100
	v := sorted[max(k, 1)-1]
	return &v
}
