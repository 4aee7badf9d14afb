package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/uptrace/bun"

	"github.com/leadrotor/leadrotor/leads"
)

// LeadFacts reads, in one query, the account's configuration version, the
// lead created with an idempotency key, a live lead with an email, the live
// lead with an external id and, when q.KeyHash is set, the API key and its
// user's role in the account.
func (s *Store) LeadFacts(ctx context.Context, q leads.LeadFactsQuery) (_ leads.LeadFacts, err error) {
	defer translate(&err)
	if s.dialect == Postgres {
		return s.leadFactsPostgres(ctx, q)
	}
	if q.KeyHash != "" {
		st, err := s.sqlitePrepared(ctx)
		if err != nil {
			return leads.LeadFacts{}, err
		}
		return s.leadFactsWithKey(ctx, "lead facts", q, func(_ string, args ...any) *sql.Row {
			return st.check.QueryRowContext(ctx, args...)
		})
	}
	var version int64
	var idemID, dupID, extID sql.NullInt64
	var idemFP sql.NullString
	err = s.db.NewRaw(`SELECT a.config_version, `+idempotentLeadSQL("a.id", "?0")+`,
	(SELECT l.id FROM leads AS l WHERE l.account_id = a.id AND l.email_norm = ?1 AND l.email_norm IS NOT NULL AND l.id <> ?2 ORDER BY l.id LIMIT 1),
	(SELECT l.id FROM leads AS l WHERE l.account_id = a.id AND l.external_id = ?4 AND l.external_id IS NOT NULL AND l.id <> ?2)
FROM accounts AS a WHERE a.id = ?3`, nullString(q.IdempotencyKey), nullString(q.EmailKey), q.ExcludeLeadID, q.AccountID, nullString(q.ExternalID)).
		Scan(ctx, &version, &idemID, &idemFP, &dupID, &extID)
	if err != nil {
		return leads.LeadFacts{}, notFound(err, "account")
	}
	return leads.LeadFacts{
		ConfigVersion:           version,
		IdempotentLeadID:        idemID.Int64,
		IdempotentFingerprint:   idemFP.String,
		DuplicateLeadID:         dupID.Int64,
		DuplicateExternalLeadID: extID.Int64,
	}, nil
}

// InsertLead stores the lead, the rotation turn that assigned it and its
// audit entries atomically, and sets their IDs. Concurrent calls share one
// write (see batch.go); each gets the outcome it would have had alone:
// ErrIdempotencyKeyTaken, ErrEmailTaken or ErrExternalIDTaken report the
// unique rule that broke, and ErrTurnTaken a rotation turn whose number is
// recorded already.
func (s *Store) InsertLead(ctx context.Context, n *leads.NewLead) (err error) {
	defer translate(&err)
	rows, err := newLeadRows(n)
	if err != nil {
		return err
	}
	p := &pendingInsert{n: n, rows: rows, done: make(chan struct{})}
	return s.enqueue(ctx, p)
}

// newLeadRows returns the rows that store n.
func newLeadRows(n *leads.NewLead) (*leadRows, error) {
	lead := newLeadRow(n.Lead)
	lead.IdempotencyKey = n.IdempotencyKey
	lead.IdempotencyFingerprint = n.Fingerprint
	lead.EmailUnique = n.UniqueEmail
	r := &leadRows{lead: lead, audit: auditRows(n.Audit, 0), events: n.Events, timer: n.SLATimer}
	if n.Lead.AssignedTo != "" {
		at := n.Lead.CreatedAt
		lead.AssignedAt = &at
		if n.Lead.RotationTurn > 0 {
			var err error
			if r.turn, err = newTurnRow(n.Lead.RotationID, n.Lead.RotationTurn, n.Lead.AssignedTo, 0, at, n.TurnState); err != nil {
				return nil, err
			}
			r.skips = skipRows(n.Lead.RotationID, n.Lead.RotationTurn, n.Skips, at)
		}
	}
	return r, nil
}

// leadWriteError translates the errors a lead write can meet.
// idempotentLeadSQL is the two columns of LeadFacts' idempotency lookup
// for the key in account (SQL expressions): the lead and the fingerprint of
// the request that created it (the key on its row) or upserted it
// (idempotency_keys). The lookups restate "IS NOT NULL" for the partial
// index.
func idempotentLeadSQL(account, key string) string {
	r := strings.NewReplacer("$account", account, "$key", key)
	return r.Replace(`COALESCE((SELECT l.id FROM leads AS l WHERE l.account_id = $account AND l.idempotency_key = $key AND l.idempotency_key IS NOT NULL),
		(SELECT k.lead_id FROM idempotency_keys AS k WHERE k.account_id = $account AND k.key = $key)),
	COALESCE((SELECT l.idempotency_fingerprint FROM leads AS l WHERE l.account_id = $account AND l.idempotency_key = $key AND l.idempotency_key IS NOT NULL),
		(SELECT k.fingerprint FROM idempotency_keys AS k WHERE k.account_id = $account AND k.key = $key))`)
}

func leadWriteError(err error) error {
	translate(&err)
	switch {
	case leads.ErrorCode(err) != leads.CodeInternal:
		return err
	case isUnique(err, leadIdempotency), isUnique(err, upsertKey):
		return leads.ErrIdempotencyKeyTaken
	case isUnique(err, leadEmailUnique):
		return leads.ErrEmailTaken
	case isUnique(err, leadExternalID):
		return leads.ErrExternalIDTaken
	case isUnique(err, turnNumber):
		return leads.ErrTurnTaken
	case isForeignKey(err):
		return leads.Errorf(leads.CodeConflict, "the lead's team, lead source or rotation no longer exists")
	}
	return fmt.Errorf("write lead: %w", err)
}

func auditRows(entries []leads.AuditEntry, leadID int64) []auditRow {
	rows := make([]auditRow, len(entries))
	for i := range entries {
		rows[i] = newAuditRow(&entries[i])
		if leadID != 0 {
			rows[i].LeadID = leadID
		}
	}
	return rows
}

// Lead returns a lead of the account, with its audit log oldest first when
// withAudit is set; NOT_FOUND when the account has no such lead.
func (s *Store) Lead(ctx context.Context, accountID string, id int64, withAudit bool) (_ *leads.Lead, err error) {
	defer translate(&err)
	return readLead(ctx, s.db, accountID, id, withAudit)
}

func readLead(ctx context.Context, db bun.IDB, accountID string, id int64, withAudit bool) (*leads.Lead, error) {
	row := new(leadRow)
	if err := db.NewSelect().Model(row).Where("account_id = ?", accountID).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, notFound(err, "lead")
	}
	lead := row.lead()
	if withAudit {
		var rows []auditRow
		err := db.NewSelect().Model(&rows).Where("lead_id = ?", id).Where("account_id = ?", accountID).Order("id").Scan(ctx)
		if err != nil {
			return nil, fmt.Errorf("select audit log: %w", err)
		}
		lead.AuditLog = make([]leads.AuditEntry, len(rows))
		for i := range rows {
			lead.AuditLog[i] = rows[i].entry()
		}
	}
	return lead, nil
}

// UpdateLead reads the lead under a row lock (PostgreSQL: FOR UPDATE; SQLite
// has one writer), lets apply decide the write, and stores it with its audit
// entries and turn in the same transaction.
func (s *Store) UpdateLead(ctx context.Context, accountID string, id int64, apply func(cur *leads.Lead) (*leads.LeadWrite, error)) (_ *leads.Lead, err error) {
	defer translate(&err)
	var out *leads.Lead
	err = s.tx(ctx, func(tx bun.Tx) error {
		row := new(leadRow)
		if err := s.lockRow(ctx, tx, row, accountID, id, "lead"); err != nil {
			return err
		}
		w, err := apply(row.lead())
		if err != nil {
			return err
		}
		if w != nil {
			if err := s.writeLead(ctx, tx, row, w); err != nil {
				return err
			}
		}
		out, err = readLead(ctx, tx, accountID, id, true)
		return err
	})
	if err != nil {
		return nil, leadWriteError(err)
	}
	return out, nil
}

// writeLead stores w over the lead whose current row is cur.
func (s *Store) writeLead(ctx context.Context, tx bun.Tx, cur *leadRow, w *leads.LeadWrite) error {
	if w.IdempotencyKey != "" {
		if err := s.claimUpdateKey(ctx, tx, cur.AccountID, w.IdempotencyKey); err != nil {
			return err
		}
		_, err := tx.NewRaw("INSERT INTO idempotency_keys (account_id, key, fingerprint, lead_id, created_at) VALUES (?, ?, ?, ?, ?)",
			cur.AccountID, w.IdempotencyKey, w.Fingerprint, cur.ID, s.now().UTC()).Exec(ctx)
		if err != nil {
			return fmt.Errorf("store idempotency key: %w", err)
		}
	}
	if w.Lead != nil {
		next := newLeadRow(w.Lead)
		next.IdempotencyKey, next.IdempotencyFingerprint = cur.IdempotencyKey, cur.IdempotencyFingerprint
		next.EmailUnique, next.AssignedAt = cur.EmailUnique, cur.AssignedAt
		if w.UniqueEmail != nil {
			next.EmailUnique = *w.UniqueEmail
		}
		if next.AssignedTo != cur.AssignedTo || w.Turn != nil {
			// A new assignment: nobody has accepted or touched it yet.
			at := w.Lead.UpdatedAt
			next.AssignedAt = &at
			next.AcceptedAt, next.FirstTouchAt = nil, nil
		}
		_, err := tx.NewUpdate().Model(next).ExcludeColumn("id", "account_id", "created_at").
			Where("id = ?", cur.ID).Where("account_id = ?", cur.AccountID).Exec(ctx)
		if err != nil {
			return err
		}
	}
	if w.Activity != nil {
		row := newActivityRow(w.Activity)
		row.LeadID = cur.ID
		if _, err := tx.NewInsert().Model(row).Returning("id").Exec(ctx); err != nil {
			return fmt.Errorf("insert activity: %w", err)
		}
		w.Activity.ID, w.Activity.LeadID = row.ID, cur.ID
		for i := range w.Audit {
			if w.Audit[i].Data == nil {
				w.Audit[i].Data = map[string]any{}
			}
			w.Audit[i].Data["activityId"] = row.ID
		}
	}
	if w.Turn != nil {
		turn, err := newTurnRow(w.Turn.RotationID, w.Turn.Turn, w.Turn.Assignee, cur.ID, w.Turn.At, w.Turn.State)
		if err != nil {
			return err
		}
		if _, err := tx.NewInsert().Model(turn).Exec(ctx); err != nil {
			return err
		}
		if skips := skipRows(w.Turn.RotationID, w.Turn.Turn, w.Turn.Skips, w.Turn.At); len(skips) > 0 {
			if _, err := tx.NewInsert().Model(&skips).Exec(ctx); err != nil {
				return err
			}
		}
	}
	if len(w.Audit) > 0 {
		audit := auditRows(w.Audit, cur.ID)
		if _, err := tx.NewInsert().Model(&audit).Exec(ctx); err != nil {
			return err
		}
	}
	if e := w.SLAExpiry; e != nil {
		row := &slaExpiryRow{AccountID: e.AccountID, RotationID: e.RotationID, LeadID: cur.ID, Assignee: e.Assignee,
			NextAssignee: e.NextAssignee, Action: e.Action, ExpiredAt: e.ExpiredAt}
		if _, err := tx.NewInsert().Model(row).Exec(ctx); err != nil {
			return fmt.Errorf("insert SLA expiry: %w", err)
		}
	}
	return s.writeEvents(ctx, tx.Tx, leadOutbox(w.Events, w.SLATimer, cur.ID))
}

// DeleteLead removes the lead and writes the entry that records it, in one
// transaction; NOT_FOUND when the account has no such lead.
func (s *Store) DeleteLead(ctx context.Context, accountID string, id int64, write func(cur *leads.Lead) (leads.AuditEntry, []leads.Event, error)) (err error) {
	defer translate(&err)
	return s.tx(ctx, func(tx bun.Tx) error {
		row := new(leadRow)
		if err := s.lockRow(ctx, tx, row, accountID, id, "lead"); err != nil {
			return err
		}
		e, events, err := write(row.lead())
		if err != nil {
			return err
		}
		audit := auditRows([]leads.AuditEntry{e}, id)
		if _, err := tx.NewInsert().Model(&audit).Exec(ctx); err != nil {
			return fmt.Errorf("insert audit entry: %w", err)
		}
		if _, err := tx.NewDelete().Model((*leadRow)(nil)).Where("id = ?", id).Where("account_id = ?", accountID).Exec(ctx); err != nil {
			return fmt.Errorf("delete lead: %w", err)
		}
		return s.writeEvents(ctx, tx.Tx, leadOutbox(events, nil, id))
	})
}

// ListLeads returns a page of leads in keyset order: (sort column, id), so
// that rows inserted while a client pages never shift what it has yet to see.
// It runs on the pool of heavy reads and builds each lead from its row as
// the row arrives, so that a page is held once, not as rows and as leads.
func (s *Store) ListLeads(ctx context.Context, q leads.LeadQuery) (_ []leads.Lead, err error) {
	defer translate(&err)
	sel := s.reads.NewSelect().Model((*leadRow)(nil)).Where("account_id = ?", q.AccountID)
	f := q.Filter
	if len(f.Statuses) > 0 {
		sel = sel.Where("status IN (?)", bun.List(f.Statuses))
	}
	if f.TeamID != 0 {
		sel = sel.Where("team_id = ?", f.TeamID)
	}
	if f.LeadSourceID != 0 {
		sel = sel.Where("lead_source_id = ?", f.LeadSourceID)
	}
	switch {
	case f.Unassigned:
		sel = sel.Where("assigned_to = ''")
	case f.AssignedTo != "":
		sel = sel.Where("assigned_to = ?", f.AssignedTo)
	}
	switch f.Archived {
	case leads.LiveOnly:
		sel = sel.Where("archived = ?", false)
	case leads.ArchivedOnly:
		sel = sel.Where("archived = ?", true)
	}
	if f.CreatedAfter != nil {
		sel = sel.Where("created_at >= ?", f.CreatedAfter.UTC())
	}
	if f.CreatedBefore != nil {
		sel = sel.Where("created_at < ?", f.CreatedBefore.UTC())
	}
	if f.ExternalID != "" {
		sel = sel.Where("external_id = ?", f.ExternalID)
	}
	if f.HotScoreMin != nil {
		sel = sel.Where("hot_score >= ?", *f.HotScoreMin)
	}
	switch f.AssignmentStatus {
	case leads.AssignmentAssigned:
		sel = sel.Where("NOT assignment_pending").Where("assigned_to <> ''")
	case leads.AssignmentUnassigned:
		sel = sel.Where("NOT assignment_pending").Where("assigned_to = ''")
	case leads.AssignmentPending:
		sel = sel.Where("assignment_pending").Where("waiting_reason = ''")
	case leads.AssignmentWaiting:
		sel = sel.Where("assignment_pending").Where("waiting_reason <> ''")
	}
	if f.HotScoreMax != nil {
		sel = sel.Where("hot_score <= ?", *f.HotScoreMax)
	}
	if f.Query != "" {
		pattern := "%" + escapeLike(strings.ToLower(f.Query)) + "%"
		if s.dialect == SQLite && !isASCII(f.Query) {
			// SQLite's lower() and LIKE fold ASCII letters alone: "Ñúñez"
			// is not found by "ñúñez", nor "Émile" by "émile".
			sel = sel.Where(`((first_name || ' ' || last_name) GLOB ?0 OR email GLOB ?0 OR phone GLOB ?0 OR company GLOB ?0)`, globFold(f.Query))
		} else {
			sel = sel.Where(`(lower(first_name || ' ' || last_name) LIKE ?0 ESCAPE '\'
			OR lower(email) LIKE ?0 ESCAPE '\' OR lower(phone) LIKE ?0 ESCAPE '\' OR lower(company) LIKE ?0 ESCAPE '\')`, pattern)
		}
		if s.dialect == Postgres && len([]rune(f.Query)) >= 3 {
			// Implied by the test above, written as the pg_trgm index's
			// expression (migration 20261203000006) so that the planner may
			// use it; patterns under three characters have no trigram to
			// look up.
			sel = sel.Where(`lower(first_name || ' ' || last_name || ' ' || email || ' ' || phone || ' ' || company) LIKE ? ESCAPE '\'`, pattern)
		}
	}
	column := bun.Ident("created_at")
	if q.Sort == leads.SortUpdatedAt {
		column = bun.Ident("updated_at")
	}
	dir, cmp := "DESC", "<"
	if q.Ascending {
		dir, cmp = "ASC", ">"
	}
	if q.After != nil {
		sel = sel.Where("(?, id) "+cmp+" (?, ?)", column, q.After.At.UTC(), q.After.ID)
	}
	sel = sel.OrderExpr("? "+dir+", id "+dir, column).Limit(int64(q.Limit))
	rows, err := sel.Rows(ctx)
	if err != nil {
		return nil, fmt.Errorf("list leads: %w", err)
	}
	defer func() { _ = rows.Close() }()
	out := make([]leads.Lead, 0, min(q.Limit, leads.MaxPageSize+1))
	for rows.Next() {
		var row leadRow
		if err := s.reads.ScanRow(ctx, rows, &row); err != nil {
			return nil, fmt.Errorf("list leads: %w", err)
		}
		out = append(out, *row.lead())
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list leads: %w", err)
	}
	return out, nil
}

// escapeLike makes s match itself in a LIKE pattern with ESCAPE '\'.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// isASCII reports whether s is ASCII alone.
func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// globFold is SQLite's GLOB pattern of the texts that contain q in any
// letter case: each letter becomes the class of the letters it folds to
// (Unicode's simple case folding: [Ññ], [Σσς]), GLOB's own wildcards
// (*, ?, [) a class of themselves, so that they are taken literally.
func globFold(q string) string {
	var b strings.Builder
	b.WriteByte('*')
	for _, r := range q {
		orbit := []rune{r}
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			orbit = append(orbit, f)
		}
		if len(orbit) == 1 && r != '*' && r != '?' && r != '[' {
			b.WriteRune(r)
			continue
		}
		b.WriteByte('[')
		for _, o := range orbit {
			b.WriteRune(o)
		}
		b.WriteByte(']')
	}
	b.WriteByte('*')
	return b.String()
}

// Activities returns a page of a lead's activities, newest first; when
// there are none, it tells an unknown lead (NOT_FOUND) from one without.
func (s *Store) Activities(ctx context.Context, q leads.ActivityQuery) (_ []leads.Activity, err error) {
	defer translate(&err)
	var rows []activityRow
	sel := s.db.NewSelect().Model(&rows).Where("lead_id = ?", q.LeadID).Where("account_id = ?", q.AccountID)
	if q.After != nil {
		sel = sel.Where("(occurred_at, id) < (?, ?)", q.After.At.UTC(), q.After.ID)
	}
	if err := sel.OrderExpr("occurred_at DESC, id DESC").Limit(int64(q.Limit)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("select activities: %w", err)
	}
	if len(rows) == 0 {
		exists, err := s.db.NewSelect().Model((*leadRow)(nil)).Where("id = ?", q.LeadID).Where("account_id = ?", q.AccountID).Exists(ctx)
		if err != nil {
			return nil, fmt.Errorf("find lead: %w", err)
		}
		if !exists {
			return nil, leads.Errorf(leads.CodeNotFound, "lead not found")
		}
	}
	out := make([]leads.Activity, len(rows))
	for i := range rows {
		out[i] = rows[i].activity()
	}
	return out, nil
}

// AuditEntries returns entries of the account, oldest first.
func (s *Store) AuditEntries(ctx context.Context, q leads.AuditQuery) (_ []leads.AuditEntry, err error) {
	defer translate(&err)
	var rows []auditRow
	sel := s.reads.NewSelect().Model(&rows).Where("account_id = ?", q.AccountID).Where("id > ?", q.AfterID)
	if q.LeadID != 0 {
		sel = sel.Where("lead_id = ?", q.LeadID)
	}
	if q.Event != "" {
		sel = sel.Where("event = ?", q.Event)
	}
	if q.AccountOnly {
		// The partial index audit_log_account_events holds these alone.
		sel = sel.Where("lead_id IS NULL")
	}
	if err := sel.Order("id").Limit(int64(q.Limit)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("select audit log: %w", err)
	}
	out := make([]leads.AuditEntry, len(rows))
	for i := range rows {
		out[i] = rows[i].entry()
	}
	return out, nil
}

// RotationHistory returns the assignee and number of the rotation's highest
// turn on record, and how many turns each member got since since.
func (s *Store) RotationHistory(ctx context.Context, rotationID int64, since time.Time) (_ leads.RotationHistory, err error) {
	defer translate(&err)
	return s.rotationHistory(ctx, rotationID, since, time.Time{}, 0)
}

// RotationHistoryBefore is RotationHistory rebuilt from a checkpoint taken
// before turn beforeTurn (rotation.CheckpointBounder): the turns recorded
// since still all count.
func (s *Store) RotationHistoryBefore(ctx context.Context, rotationID int64, since time.Time, beforeTurn int64) (_ leads.RotationHistory, err error) {
	defer translate(&err)
	return s.rotationHistory(ctx, rotationID, since, time.Time{}, beforeTurn)
}

// RotationHistoryAt is RotationHistory as it stood at until
// (leads.HistoryStore): the turns, skips and checkpoints recorded before it.
func (s *Store) RotationHistoryAt(ctx context.Context, rotationID int64, since, until time.Time) (_ leads.RotationHistory, err error) {
	defer translate(&err)
	return s.rotationHistory(ctx, rotationID, since, until, 0)
}

// rotationHistory is RotationHistory from the records before until, or
// all of them when until is zero; from a checkpoint before turn
// beforeTurn, unless it is zero.
func (s *Store) rotationHistory(ctx context.Context, rotationID int64, since, until time.Time, beforeTurn int64) (leads.RotationHistory, error) {
	var h leads.RotationHistory
	before := func(q *bun.SelectQuery, column string) *bun.SelectQuery {
		if until.IsZero() {
			return q
		}
		return q.Where("? < ?", bun.Ident(column), until.UTC())
	}
	last := new(turnRow)
	err := before(s.db.NewSelect().Model(last).Column("assignee", "turn").
		Where("rotation_id = ?", rotationID), "assigned_at").Order("turn DESC").Limit(1).Scan(ctx)
	switch {
	case err == nil:
		h.LastAssignee, h.LastTurn = last.Assignee, last.Turn
	case !errors.Is(err, sql.ErrNoRows):
		return h, fmt.Errorf("select last turn: %w", err)
	}
	var counts []struct {
		Assignee string `bun:"assignee"`
		N        int64  `bun:"n"`
	}
	err = before(s.db.NewSelect().Model((*turnRow)(nil)).ColumnExpr("assignee, count(*) AS n").
		Where("rotation_id = ?", rotationID).Where("assigned_at >= ?", since.UTC()), "assigned_at").
		Group("assignee").Scan(ctx, &counts)
	if err != nil {
		return h, fmt.Errorf("count turns: %w", err)
	}
	h.AssignedSince = make(map[string]int64, len(counts))
	for _, c := range counts {
		h.AssignedSince[c.Assignee] = c.N
	}
	if err := s.checkpoint(ctx, rotationID, until, beforeTurn, &h); err != nil {
		return h, err
	}
	return h, nil
}

// checkpoint adds to h the rotation's latest checkpoint and the slots that
// the turns recorded after it charged to each member; of the records
// before until, unless it is zero.
func (s *Store) checkpoint(ctx context.Context, rotationID int64, until time.Time, beforeTurn int64, h *leads.RotationHistory) error {
	cp := new(turnRow)
	q := s.db.NewSelect().Model(cp).Column("turn", "state").
		Where("rotation_id = ?", rotationID).Where("state IS NOT NULL")
	if beforeTurn > 0 {
		q = q.Where("turn < ?", beforeTurn)
	}
	// The bounds of the slots' count: none, or before until.
	turnsBefore, skipsBefore, bound := "", "", any(nil)
	if !until.IsZero() {
		bound = until.UTC()
		q = q.Where("assigned_at < ?", bound)
		turnsBefore, skipsBefore = " AND assigned_at < ?3", " AND skipped_at < ?3"
	}
	err := q.Order("turn DESC").Limit(1).Scan(ctx)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err != nil:
		return fmt.Errorf("select checkpoint: %w", err)
	}
	state, err := decodeCheckpoint(cp.State)
	if err != nil {
		return fmt.Errorf("decode checkpoint of turn %d: %w", cp.Turn, err)
	}
	h.Checkpoint, h.CheckpointTurn = state.Current, cp.Turn
	// The turns to add to the checkpoint: those recorded after it, and those
	// it left out as open whose leads were stored (leads.Checkpoint).
	open := append([]int64{-1}, state.Open...) // never empty: IN () is not SQL
	var slots []struct {
		Member string `bun:"member"`
		N      int64  `bun:"n"`
	}
	err = s.db.NewRaw(`SELECT member, sum(n) AS n FROM (
	SELECT assignee AS member, count(*) AS n FROM rotation_turns WHERE rotation_id = ?0 AND (turn > ?1 OR turn IN (?2))`+turnsBefore+` GROUP BY assignee
	UNION ALL
	SELECT member, sum(slots) AS n FROM rotation_skips WHERE rotation_id = ?0 AND (turn > ?1 OR turn IN (?2))`+skipsBefore+` GROUP BY member
) AS t GROUP BY member`, rotationID, cp.Turn, bun.List(open), bound).Scan(ctx, &slots)
	if err != nil {
		return fmt.Errorf("count slots since checkpoint: %w", err)
	}
	h.SlotsSince = make(map[string]int64, len(slots))
	for _, sl := range slots {
		h.SlotsSince[sl.Member] = sl.N
	}
	return nil
}

// decodeCheckpoint reads a turn's stored state: a leads.Checkpoint, or,
// written before checkpoints left open turns out, the bare map of current
// weights (member emails, which a Checkpoint's keys "w" and "open" are not).
func decodeCheckpoint(raw string) (leads.Checkpoint, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal([]byte(raw), &fields); err != nil {
		return leads.Checkpoint{}, err
	}
	var cp leads.Checkpoint
	if _, ok := fields["w"]; ok {
		err := json.Unmarshal([]byte(raw), &cp)
		return cp, err
	}
	err := json.Unmarshal([]byte(raw), &cp.Current)
	return cp, err
}

func nullString(s string) sql.NullString {
	return sql.NullString{String: s, Valid: s != ""}
}

// StoredTurns returns those of turns of a rotation that are recorded, whose
// leads were stored (a turn's record outlives a deleted lead).
func (s *Store) StoredTurns(ctx context.Context, rotationID int64, turns []int64) (_ []int64, err error) {
	defer translate(&err)
	return storedTurns(ctx, s.db, rotationID, turns)
}

// storedTurns returns, through db, those of turns of a rotation that are
// recorded.
func storedTurns(ctx context.Context, db bun.IDB, rotationID int64, turns []int64) ([]int64, error) {
	var found []int64
	if len(turns) == 0 {
		return nil, nil
	}
	err := db.NewSelect().Model((*turnRow)(nil)).Column("turn").
		Where("rotation_id = ?", rotationID).Where("turn IN (?)", bun.List(turns)).Scan(ctx, &found)
	if err != nil {
		return nil, fmt.Errorf("read turns of rotation %d: %w", rotationID, err)
	}
	return found, nil
}

// RotationIDs returns the ids of every account's rotations.
func (s *Store) RotationIDs(ctx context.Context) (_ []int64, err error) {
	defer translate(&err)
	var ids []int64
	if err := s.db.NewSelect().TableExpr("rotations").Column("id").Order("id").Scan(ctx, &ids); err != nil {
		return nil, fmt.Errorf("read rotation ids: %w", err)
	}
	return ids, nil
}

// PendingLeads returns up to limit leads of any account that wait for their
// rotation (pending or waiting), oldest first from after.
func (s *Store) PendingLeads(ctx context.Context, after int64, limit int) (_ []leads.Lead, err error) {
	defer translate(&err)
	var rows []leadRow
	err = s.db.NewSelect().Model(&rows).Where("assignment_pending").Where("id > ?", after).Order("id").Limit(int64(limit)).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("select pending leads: %w", err)
	}
	out := make([]leads.Lead, len(rows))
	for i := range rows {
		out[i] = *rows[i].lead()
	}
	return out, nil
}

// ReturningLead returns the newest lead of the account whose key by
// (leads.MatchEmail, MatchExternalID, MatchPhone or MatchEmailDomain) is
// value, created at or after since, that has an assignee; nil when none.
func (s *Store) ReturningLead(ctx context.Context, accountID, by, value string, since time.Time) (_ *leads.Lead, err error) {
	defer translate(&err)
	var rows []leadRow
	q := s.db.NewSelect().Model(&rows).Where("account_id = ?", accountID).Where("assigned_to <> ''").
		Where("created_at >= ?", since).OrderExpr("created_at DESC, id DESC").Limit(1)
	switch by {
	case leads.MatchEmail:
		q = q.Where("email_norm = ?", value)
	case leads.MatchExternalID:
		q = q.Where("external_id = ?", value)
	case leads.MatchPhone:
		q = q.Where("phone_key = ?", value).Where("phone_key <> ''")
	case leads.MatchEmailDomain:
		// The expression and the predicate of the index leads_email_domain,
		// stated as they are so that SQLite's planner sees them too (an
		// empty domain then matches nothing).
		domain := "substr(email_norm, instr(email_norm, '@') + 1)"
		if s.dialect == Postgres {
			domain = "split_part(email_norm, '@', 2)"
		}
		q = q.Where("("+domain+") = ?", value).Where("(" + domain + ") <> ''")
	default:
		return nil, fmt.Errorf("returning lead: unknown key %q", by)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("returning lead by %s: %w", by, err)
	}
	if len(rows) == 0 {
		return nil, nil
	}
	return rows[0].lead(), nil
}

// OpenLeads counts, for each of users, the leads of the account assigned
// to them whose status is one of statuses: what their capacities count
// (leads.RotationMember MaxOpenLeads); users with none are absent. In the
// same snapshot, it returns those of turns (of rotation rotationID) whose
// leads are stored, so that a turn is counted either as a stored lead or
// as one on its way, never both or neither.
func (s *Store) OpenLeads(ctx context.Context, accountID string, users []string, statuses []leads.Status, rotationID int64, turns []int64) (_ map[string]int64, _ []int64, err error) {
	defer translate(&err)
	out := make(map[string]int64, len(users))
	var stored []int64
	if len(users) == 0 || len(statuses) == 0 {
		return out, nil, nil
	}
	opts := &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}
	if s.dialect == SQLite {
		opts = nil // SQLite transactions are serializable; it knows no levels
	}
	err = s.db.RunInTx(ctx, opts, func(ctx context.Context, tx bun.Tx) error {
		var counts []struct {
			User string `bun:"assigned_to"`
			N    int64  `bun:"n"`
		}
		err := tx.NewSelect().Model((*leadRow)(nil)).ColumnExpr("assigned_to, count(*) AS n").
			Where("account_id = ?", accountID).Where("assigned_to IN (?)", bun.List(users)).
			Where("status IN (?)", bun.List(statuses)).Group("assigned_to").Scan(ctx, &counts)
		if err != nil {
			return fmt.Errorf("count open leads: %w", err)
		}
		for _, c := range counts {
			out[c.User] = c.N
		}
		stored, err = storedTurns(ctx, tx, rotationID, turns)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	return out, stored, nil
}
