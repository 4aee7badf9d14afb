package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/leadrotor/leadrotor/cmd/internal/app"
	"github.com/leadrotor/leadrotor/leads"
	"github.com/leadrotor/leadrotor/rotation"
	"github.com/leadrotor/leadrotor/store"
)

// baseline serves POST /leads the way CRMs commonly assign leads, for
// comparison in `leadbench --target baseline`: the rotation's cursor is
// a database row; each lead locks it (SELECT ... FOR UPDATE), advances it to
// the next slot of the weighted order, inserts the lead and its audit entry,
// and commits. The lock is held through the commit, so every lead of the
// rotation waits for the one before it. It uses prepared statements, the
// fastest path the database offers, so that the comparison is fair to it.
type baseline struct {
	db        *sql.DB
	key       string   // the cursor row of this run
	slots     []string // the weighted order, one turn a slot
	accountID string
	team      int64
	source    int64
}

// startBaseline prepares the baseline (or, with insert, the insert-only
// reference, insertOnly) on the PostgreSQL database of cfg and serves it
// on a free loopback port.
func startBaseline(ctx context.Context, cfg app.Config, cleanup []func(), insert bool) (*benchTarget, error) {
	if !strings.HasPrefix(cfg.DatabaseURL, "postgres") {
		return nil, errors.New("the baselines are PostgreSQL's (the row-lock one locks rows with SELECT ... FOR UPDATE): run them on PostgreSQL (--database-url postgres://...)")
	}
	st, err := store.Open(ctx, cfg.DatabaseURL, store.WithMaxConns(max(cfg.DBMaxConns, 16)))
	if err != nil {
		return nil, err
	}
	stop := func() {
		_ = st.Close()
		for _, c := range cleanup {
			c()
		}
	}
	b := &baseline{db: st.DB().DB, key: fmt.Sprintf("bench-%d", time.Now().UnixNano()), accountID: fmt.Sprintf("baseline-%d", time.Now().UnixNano())}
	weights, err := b.seed(ctx, st)
	if err != nil {
		stop()
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		stop()
		return nil, err
	}
	var handler http.Handler = b
	describe := "baseline: row-lock rotation cursor (postgres)"
	if insert {
		handler = &insertOnly{db: b.db, accountID: b.accountID}
		describe = "insert: one row a request, no rotation, audit or checks (postgres)"
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return &benchTarget{
		url: "http://" + ln.Addr().String(), key: "none", account: b.accountID, team: b.team, source: b.source,
		weights: weights, describe: describe, pid: os.Getpid(), noRotations: true,
		stop: func() {
			_ = srv.Shutdown(context.Background())
			stop()
		},
	}, nil
}

// seed makes the account, team and lead source the leads need, the cursor
// row, and the weighted order (the same smooth weighted round-robin as
// leadrotor's, so that both are equally fair).
func (b *baseline) seed(ctx context.Context, st *store.Store) (map[string]int, error) {
	svc := leads.NewService(st, nil)
	if _, err := svc.CreateAccount(ctx, leads.Account{ID: b.accountID, Name: "Baseline"}); err != nil {
		return nil, err
	}
	root := leads.SystemActor(b.accountID)
	team, err := svc.CreateTeam(ctx, root, leads.Team{Name: "Bench"})
	if err != nil {
		return nil, err
	}
	src, err := svc.CreateLeadSource(ctx, root, leads.LeadSource{TeamID: team.ID, Name: "Load"})
	if err != nil {
		return nil, err
	}
	b.team, b.source = team.ID, src.ID
	weights := map[string]int{}
	var members []leads.RotationMember
	total := 0
	for i, w := range benchWeights {
		user := fmt.Sprintf("rep%d@bench.test", i+1)
		members = append(members, leads.RotationMember{User: user, Weight: w})
		weights[user] = w
		total += w
	}
	st0 := rotation.State{Current: map[string]int64{}, DayCounts: map[string]int64{}}
	for range total {
		b.slots = append(b.slots, rotation.Pick(members, &st0).Assignee)
	}
	if _, err := b.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS baseline_cursors (rotation_key text PRIMARY KEY, position bigint NOT NULL)`); err != nil {
		return nil, err
	}
	if _, err := b.db.ExecContext(ctx, `INSERT INTO baseline_cursors (rotation_key, position) VALUES ($1, 0)`, b.key); err != nil {
		return nil, err
	}
	return weights, nil
}

// ServeHTTP creates one lead: validate, lock the cursor, advance it, insert
// the lead and its audit entry, commit.
func (b *baseline) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	in, ok := decodeLead(w, r)
	if !ok {
		return
	}
	in.Normalize()
	if err := in.Validate(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	lead, err := b.create(r.Context(), in)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(lead)
}

func (b *baseline) create(ctx context.Context, in leads.LeadInput) (*leads.Lead, error) {
	tx, err := b.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer func() { _ = tx.Rollback() }()
	var pos int64
	if err := tx.QueryRowContext(ctx, `SELECT position FROM baseline_cursors WHERE rotation_key = $1 FOR UPDATE`, b.key).Scan(&pos); err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE baseline_cursors SET position = $1 WHERE rotation_key = $2`, pos+1, b.key); err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	lead := &leads.Lead{AccountID: b.accountID, LeadInput: in, CreatedAt: now, UpdatedAt: now}
	lead.AssignedTo = b.slots[pos%int64(len(b.slots))]
	meta, _ := json.Marshal(in.Metadata)
	err = tx.QueryRowContext(ctx, `INSERT INTO leads (account_id, team_id, lead_source_id, first_name, last_name, email, email_norm,
		phone, company, status, metadata, assigned_to, assigned_at, created_by, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $13, $13) RETURNING id`,
		b.accountID, in.TeamID, in.LeadSourceID, in.FirstName, in.LastName, in.Email, leads.EmailKey(in.Email),
		in.Phone, in.Company, string(in.Status), string(meta), lead.AssignedTo, now, "baseline").Scan(&lead.ID)
	if err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO audit_log (account_id, lead_id, event, user_email, data, created_at)
		VALUES ($1, $2, 'lead_created', 'baseline', '{}', $3)`, b.accountID, lead.ID, now); err != nil {
		return nil, err
	}
	return lead, tx.Commit()
}

// insertOnly serves POST /leads as the least a create can be, for
// `leadbench --target insert`: it decodes the body and inserts one row into
// leads, in a transaction of its own (the statement's), with no rotation,
// no audit and no checks, and answers 201 with the row's id. It is the
// reference for what leadrotor's own work costs above storing a row (issue
// 18): the same table, indexes and database.
type insertOnly struct {
	db        *sql.DB
	accountID string
}

func (h *insertOnly) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	in, ok := decodeLead(w, r)
	if !ok {
		return
	}
	now := time.Now().UTC()
	meta, _ := json.Marshal(in.Metadata)
	var id int64
	err := h.db.QueryRowContext(r.Context(), `INSERT INTO leads (account_id, team_id, lead_source_id, first_name, last_name, email, email_norm,
		phone, company, status, metadata, created_by, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'new', $10, 'insert', $11, $11) RETURNING id`,
		h.accountID, in.TeamID, in.LeadSourceID, in.FirstName, in.LastName, in.Email, leads.EmailKey(in.Email),
		in.Phone, in.Company, string(meta), now).Scan(&id)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_, _ = fmt.Fprintf(w, `{"id":%d}`, id)
}

// decodeLead reads the lead of a POST /leads, or answers 404 (another
// route) or 400 (no lead) and returns false.
func decodeLead(w http.ResponseWriter, r *http.Request) (leads.LeadInput, bool) {
	var in leads.LeadInput
	if r.Method != http.MethodPost || r.URL.Path != "/leads" {
		http.NotFound(w, r)
		return in, false
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return in, false
	}
	return in, true
}
