package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/uptrace/bun"

	"github.com/leadrotor/leadrotor/leads"
)

var _ leads.WebhookStore = (*Store)(nil)

// webhookRow is a webhook endpoint as stored.
type webhookRow struct {
	bun.BaseModel `bun:"table:webhook_endpoints"`

	ID             int64     `bun:"id,pk,autoincrement"`
	AccountID      string    `bun:"account_id"`
	URL            string    `bun:"url"`
	Secret         string    `bun:"secret"`
	EventTypes     string    `bun:"event_types"`
	Format         string    `bun:"format"`
	Enabled        bool      `bun:"enabled"`
	DisabledReason string    `bun:"disabled_reason"`
	CreatedAt      time.Time `bun:"created_at"`
	UpdatedAt      time.Time `bun:"updated_at"`
}

func newWebhookRow(e *leads.WebhookEndpoint) *webhookRow {
	return &webhookRow{ID: e.ID, AccountID: e.AccountID, URL: e.URL, Secret: e.Secret, EventTypes: joinList(e.EventTypes),
		Format: e.Format, Enabled: e.Enabled, DisabledReason: e.DisabledReason, CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt}
}

func (r *webhookRow) endpoint() *leads.WebhookEndpoint {
	e := &leads.WebhookEndpoint{ID: r.ID, AccountID: r.AccountID, URL: r.URL, Secret: r.Secret, Format: r.Format,
		Enabled: r.Enabled, DisabledReason: r.DisabledReason, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
		EventTypes: splitList[leads.EventType](r.EventTypes)}
	return e
}

// deliveryRow is one attempt of the delivery log.
type deliveryRow struct {
	bun.BaseModel `bun:"table:webhook_deliveries"`

	ID         int64     `bun:"id,pk,autoincrement"`
	EndpointID int64     `bun:"endpoint_id"`
	AccountID  string    `bun:"account_id"`
	EventID    string    `bun:"event_id"`
	EventType  string    `bun:"event_type"`
	Attempt    int       `bun:"attempt"`
	StatusCode int       `bun:"status_code"`
	Succeeded  bool      `bun:"succeeded"`
	Error      string    `bun:"error"`
	DurationMS int64     `bun:"duration_ms"`
	At         time.Time `bun:"at"`
	Payload    string    `bun:"payload"`
	Redelivery bool      `bun:"redelivery"`
}

func (r *deliveryRow) delivery() leads.WebhookDelivery {
	return leads.WebhookDelivery{ID: r.ID, EndpointID: r.EndpointID, AccountID: r.AccountID, EventID: r.EventID,
		EventType: leads.EventType(r.EventType), Attempt: r.Attempt, StatusCode: r.StatusCode, Succeeded: r.Succeeded,
		Error: r.Error, DurationMS: r.DurationMS, At: r.At.UTC(), Payload: json.RawMessage(r.Payload), Redelivery: r.Redelivery}
}

// CreateWebhook stores an endpoint and its audit entry; NOT_FOUND for an
// unknown account.
func (s *Store) CreateWebhook(ctx context.Context, e *leads.WebhookEndpoint, entry func(*leads.WebhookEndpoint) leads.AuditEntry) (err error) {
	defer translate(&err)
	return s.tx(ctx, func(tx bun.Tx) error {
		row := newWebhookRow(e)
		if _, err := tx.NewInsert().Model(row).Exec(ctx); err != nil {
			return accountRef(err, "insert webhook")
		}
		e.ID = row.ID
		if err := bumpConfig(ctx, tx, e.AccountID); err != nil {
			return err
		}
		return insertAudit(ctx, tx, entry(e))
	})
}

// subscribedEvents returns, in tx, the event types some enabled endpoint
// of the account subscribes to: part of its configuration, which every
// endpoint change moves to a new version.
func subscribedEvents(ctx context.Context, tx bun.Tx, accountID string) (map[leads.EventType]bool, error) {
	var types []string
	err := tx.NewSelect().Model((*webhookRow)(nil)).Column("event_types").
		Where("account_id = ?", accountID).Where("enabled").Scan(ctx, &types)
	if err != nil {
		return nil, fmt.Errorf("select webhook subscriptions: %w", err)
	}
	out := make(map[leads.EventType]bool)
	for _, ts := range types {
		for _, t := range splitList[leads.EventType](ts) {
			out[t] = true
		}
	}
	return out, nil
}

// Webhook returns an endpoint of the account; NOT_FOUND otherwise.
func (s *Store) Webhook(ctx context.Context, accountID string, id int64) (_ *leads.WebhookEndpoint, err error) {
	defer translate(&err)
	row := new(webhookRow)
	if err := s.db.NewSelect().Model(row).Where("account_id = ?", accountID).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, notFound(err, "webhook")
	}
	return row.endpoint(), nil
}

// webhooksSQL reads an account's endpoints on PostgreSQL, prepared: every
// fan-out of a batch of new leads' events reads them, and bun's statement,
// its value in the text, was planned each time (about 0.14 ms of
// PostgreSQL's CPU a fan-out, more than it took to run; docs/BENCHMARKS.md,
// issue 18).
const webhooksSQL = `SELECT id, account_id, url, secret, event_types, format, enabled, disabled_reason, created_at, updated_at
FROM webhook_endpoints WHERE account_id = $1 ORDER BY id`

// Webhooks returns the account's endpoints by id.
func (s *Store) Webhooks(ctx context.Context, accountID string) (_ []leads.WebhookEndpoint, err error) {
	defer translate(&err)
	if s.dialect == Postgres {
		return s.webhooksPostgres(ctx, accountID)
	}
	var rows []webhookRow
	if err := s.db.NewSelect().Model(&rows).Where("account_id = ?", accountID).Order("id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("select webhooks: %w", err)
	}
	out := make([]leads.WebhookEndpoint, len(rows))
	for i := range rows {
		out[i] = *rows[i].endpoint()
	}
	return out, nil
}

// webhooksPostgres is Webhooks on PostgreSQL (webhooksSQL).
func (s *Store) webhooksPostgres(ctx context.Context, accountID string) ([]leads.WebhookEndpoint, error) {
	s.observed(ctx, webhooksSQL)
	rows, err := s.db.DB.QueryContext(ctx, webhooksSQL, s.prepared(), accountID)
	if err != nil {
		return nil, fmt.Errorf("select webhooks: %w", err)
	}
	defer func() { _ = rows.Close() }()
	out := []leads.WebhookEndpoint{}
	for rows.Next() {
		var r webhookRow
		if err := rows.Scan(&r.ID, &r.AccountID, &r.URL, &r.Secret, &r.EventTypes, &r.Format, &r.Enabled, &r.DisabledReason,
			&r.CreatedAt, &r.UpdatedAt); err != nil {
			return nil, fmt.Errorf("select webhooks: %w", err)
		}
		out = append(out, *r.endpoint())
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("select webhooks: %w", err)
	}
	return out, nil
}

// UpdateWebhook changes an endpoint under a row lock.
func (s *Store) UpdateWebhook(ctx context.Context, accountID string, id int64, apply func(*leads.WebhookEndpoint) (*leads.WebhookEndpoint, []leads.AuditEntry, error)) (_ *leads.WebhookEndpoint, err error) {
	defer translate(&err)
	var out *leads.WebhookEndpoint
	err = s.tx(ctx, func(tx bun.Tx) error {
		row := new(webhookRow)
		if err := s.lockRow(ctx, tx, row, accountID, id, "webhook"); err != nil {
			return err
		}
		cur := row.endpoint()
		next, audit, err := apply(cur)
		if err != nil {
			return err
		}
		if next == nil {
			out = cur
			return nil
		}
		next.ID, next.AccountID = id, accountID
		if _, err := tx.NewUpdate().Model(newWebhookRow(next)).ExcludeColumn("id", "account_id", "secret", "created_at").
			Where("id = ?", id).Where("account_id = ?", accountID).Exec(ctx); err != nil {
			return fmt.Errorf("update webhook: %w", err)
		}
		next.Secret = cur.Secret
		out = next
		if err := bumpConfig(ctx, tx, accountID); err != nil {
			return err
		}
		return insertAudit(ctx, tx, audit...)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteWebhook deletes an endpoint with its delivery log.
func (s *Store) DeleteWebhook(ctx context.Context, accountID string, id int64, entry func(*leads.WebhookEndpoint) leads.AuditEntry) (err error) {
	defer translate(&err)
	return s.tx(ctx, func(tx bun.Tx) error {
		row := new(webhookRow)
		if err := s.lockRow(ctx, tx, row, accountID, id, "webhook"); err != nil {
			return err
		}
		if _, err := tx.NewDelete().Model((*deliveryRow)(nil)).Where("endpoint_id = ?", id).Exec(ctx); err != nil {
			return fmt.Errorf("delete deliveries: %w", err)
		}
		if _, err := tx.NewDelete().Model((*webhookRow)(nil)).Where("id = ?", id).Exec(ctx); err != nil {
			return fmt.Errorf("delete webhook: %w", err)
		}
		if err := bumpConfig(ctx, tx, accountID); err != nil {
			return err
		}
		return insertAudit(ctx, tx, entry(row.endpoint()))
	})
}

// WebhookDeliveries returns attempts of an endpoint's deliveries, newest
// first.
func (s *Store) WebhookDeliveries(ctx context.Context, accountID string, endpointID, beforeID int64, limit int) (_ []leads.WebhookDelivery, err error) {
	defer translate(&err)
	var rows []deliveryRow
	q := s.reads.NewSelect().Model(&rows).ExcludeColumn("payload").
		Where("endpoint_id = ?", endpointID).Where("account_id = ?", accountID)
	if beforeID > 0 {
		q = q.Where("id < ?", beforeID)
	}
	if err := q.Order("id DESC").Limit(int64(limit)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("select deliveries: %w", err)
	}
	out := make([]leads.WebhookDelivery, len(rows))
	for i := range rows {
		out[i] = rows[i].delivery()
		out[i].Payload = nil
	}
	return out, nil
}

// WebhookDelivery returns one attempt with its payload; NOT_FOUND when it
// is not the account's endpoint's.
func (s *Store) WebhookDelivery(ctx context.Context, accountID string, endpointID, id int64) (_ *leads.WebhookDelivery, err error) {
	defer translate(&err)
	row := new(deliveryRow)
	err = s.db.NewSelect().Model(row).Where("id = ?", id).Where("endpoint_id = ?", endpointID).
		Where("account_id = ?", accountID).Scan(ctx)
	if err != nil {
		return nil, notFound(err, "delivery")
	}
	d := row.delivery()
	return &d, nil
}

// RecordWebhookDelivery appends an attempt to the log; NOT_FOUND when its
// endpoint is gone.
func (s *Store) RecordWebhookDelivery(ctx context.Context, ds ...*leads.WebhookDelivery) (err error) {
	defer translate(&err)
	if len(ds) == 0 {
		return nil
	}
	rows := make([]deliveryRow, len(ds))
	for i, d := range ds {
		rows[i] = deliveryRow{EndpointID: d.EndpointID, AccountID: d.AccountID, EventID: d.EventID, EventType: string(d.EventType),
			Attempt: d.Attempt, StatusCode: d.StatusCode, Succeeded: d.Succeeded, Error: d.Error, DurationMS: d.DurationMS,
			At: d.At, Payload: string(d.Payload), Redelivery: d.Redelivery}
	}
	var err2 error
	if len(rows) > 1 && s.dialect == Postgres {
		// Many attempts (the log writer's batches): COPY, which neither
		// writes nor parses their payloads as SQL text. Their ids are not
		// read back.
		err2 = s.copyDeliveries(ctx, rows)
	} else {
		_, err2 = s.db.NewInsert().Model(&rows).Returning("id").Exec(ctx)
	}
	if err := err2; err != nil {
		if !isForeignKey(err) {
			return fmt.Errorf("insert deliveries: %w", err)
		}
		if len(ds) == 1 {
			return leads.Errorf(leads.CodeNotFound, "webhook not found")
		}
		// An endpoint deleted meanwhile: the others' attempts, one by one.
		for _, d := range ds {
			if err := s.RecordWebhookDelivery(ctx, d); err != nil && leads.ErrorCode(err) != leads.CodeNotFound {
				return err
			}
		}
		return nil
	}
	for i := range ds {
		ds[i].ID = rows[i].ID
	}
	return nil
}

// deliveryColumns are the columns COPY writes of a delivery.
var deliveryColumns = []string{"endpoint_id", "account_id", "event_id", "event_type", "attempt", "status_code", "succeeded",
	"error", "duration_ms", "at", "payload", "redelivery"}

// copyDeliveries writes rows with COPY on PostgreSQL.
func (s *Store) copyDeliveries(ctx context.Context, rows []deliveryRow) error {
	return s.withPgx(ctx, func(c *pgx.Conn) error {
		_, err := c.CopyFrom(ctx, pgx.Identifier{"webhook_deliveries"}, deliveryColumns,
			pgx.CopyFromSlice(len(rows), func(i int) ([]any, error) {
				r := &rows[i]
				return []any{r.EndpointID, r.AccountID, r.EventID, r.EventType, r.Attempt, r.StatusCode, r.Succeeded,
					r.Error, r.DurationMS, r.At, r.Payload, r.Redelivery}, nil
			}))
		return err
	})
}

// PruneWebhookDeliveries deletes, of the limit oldest attempts of the
// delivery log, those made before before, and returns how many went. It
// looks at the log by id, the order it is written in (which the attempts'
// times follow to within the log writer's batching), so it reads the
// primary key alone: no index on the time is kept for it, and a call costs
// limit rows whatever the log holds. The caller calls again until none
// goes; an attempt whose time is later than its id says (a clock set
// back) stays until its own time comes without holding the others back,
// unless limit of them are the oldest.
func (s *Store) PruneWebhookDeliveries(ctx context.Context, before time.Time, limit int) (_ int64, err error) {
	defer translate(&err)
	if limit <= 0 {
		return 0, nil
	}
	oldest := s.db.NewSelect().Model((*deliveryRow)(nil)).Column("id").Order("id").Limit(int64(limit))
	res, err := s.db.NewDelete().Model((*deliveryRow)(nil)).Where("id IN (?)", oldest).Where("at < ?", before).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("delete old deliveries: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("delete old deliveries: %w", err)
	}
	return n, nil
}
