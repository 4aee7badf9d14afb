-- As for PostgreSQL (see ../postgres): each list of an account's routing
-- rules by the configuration version it was made in.
CREATE TABLE routing_rule_versions (
    account_id text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    version    bigint NOT NULL,
    rules      text NOT NULL,
    PRIMARY KEY (account_id, version)
);
--bun:split
INSERT INTO routing_rule_versions (account_id, version, rules)
SELECT a.id, a.config_version,
       (SELECT json_group_array(json_object('id', r.id, 'accountId', r.account_id, 'name', r.name, 'enabled', json(CASE WHEN r.enabled THEN 'true' ELSE 'false' END),
                                            'conditions', json(r.conditions), 'action', json(r.action),
                                            'createdAt', r.created_at, 'updatedAt', r.updated_at) ORDER BY r.position)
          FROM routing_rules AS r WHERE r.account_id = a.id)
  FROM accounts AS a
 WHERE EXISTS (SELECT 1 FROM routing_rules AS r WHERE r.account_id = a.id);
