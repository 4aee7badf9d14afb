-- Every list of an account's routing rules as it stood, by the configuration
-- version it was made in: a lead's routing decision keeps the outcome of each
-- rule tried in a few bytes against that version, and "why this rep" reads
-- the rules' names and conditions back from here, as they were.
CREATE TABLE routing_rule_versions (
    account_id text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    version    bigint NOT NULL,
    rules      jsonb NOT NULL,
    PRIMARY KEY (account_id, version)
);
--bun:split
-- The rules of today, for the accounts that have some.
INSERT INTO routing_rule_versions (account_id, version, rules)
SELECT a.id, a.config_version,
       (SELECT json_agg(json_build_object('id', r.id, 'accountId', r.account_id, 'name', r.name, 'enabled', r.enabled,
                                          'conditions', r.conditions, 'action', r.action,
                                          'createdAt', r.created_at, 'updatedAt', r.updated_at) ORDER BY r.position)
          FROM routing_rules AS r WHERE r.account_id = a.id)
  FROM accounts AS a
 WHERE EXISTS (SELECT 1 FROM routing_rules AS r WHERE r.account_id = a.id);
