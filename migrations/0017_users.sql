-- 0017_users: accounts for people, their sessions and set-password links.
--
-- Tokens stay for machines. A person is a user: a login, a name, an Argon2id
-- password hash (libsodium crypto_pwhash_str), and a principal -- the
-- api_tokens row (token_id) that holds the user's role, agency or region,
-- precincts and areas, exactly as a machine's token does, so scopes,
-- sharing, streams and the audit trail treat both alike. That row's hash
-- is of a secret nobody holds: it is never a bearer token. Disabling a user
-- revokes it (and ends the sessions).
--
-- Sessions and links are stored as the SHA-256 of their secrets, like
-- tokens: a copy of the database opens no session.

CREATE TABLE users (
    id             integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    login          text NOT NULL UNIQUE CHECK (login ~ '^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$'),
    name           text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    token_id       integer NOT NULL UNIQUE REFERENCES api_tokens (id),
    password_hash  text,                -- NULL: not set yet (a link was printed)
    password_set_at timestamptz,
    disabled_at    timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE user_links (
    token_hash  text PRIMARY KEY CHECK (token_hash ~ '^[0-9a-f]{64}$'),
    user_id     integer NOT NULL REFERENCES users (id),
    purpose     text NOT NULL CHECK (purpose IN ('set_password')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz
);
CREATE INDEX user_links_user_idx ON user_links (user_id);

CREATE TABLE sessions (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_hash    text NOT NULL UNIQUE CHECK (token_hash ~ '^[0-9a-f]{64}$'),
    csrf_hash     text NOT NULL CHECK (csrf_hash ~ '^[0-9a-f]{64}$'),
    user_id       integer NOT NULL REFERENCES users (id),
    address       text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_seen_at  timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,   -- the absolute limit
    ended_at      timestamptz
);
CREATE INDEX sessions_user_idx ON sessions (user_id);

-- The second factor: TOTP (RFC 6238; the secret, 20 random bytes in
-- base32, is what an authenticator app holds too), pending until a first
-- code confirms it, and ten one-time recovery codes, stored hashed.
ALTER TABLE users ADD COLUMN totp_secret text CHECK (totp_secret ~ '^[A-Z2-7]{32}$');
ALTER TABLE users ADD COLUMN totp_enabled_at timestamptz;
ALTER TABLE users ADD COLUMN totp_last_step bigint;  -- the last code's step: never accepted twice
-- A session opened where the agency requires a second factor the user has
-- not enrolled yet: it may only enrol one (and sign out).
ALTER TABLE sessions ADD COLUMN enrol_only boolean NOT NULL DEFAULT false;
CREATE TABLE user_recovery_codes (
    user_id    integer NOT NULL REFERENCES users (id),
    code_hash  text NOT NULL CHECK (code_hash ~ '^[0-9a-f]{64}$'),
    used_at    timestamptz,
    PRIMARY KEY (user_id, code_hash)
);
-- An agency may require the second factor of every user.
ALTER TABLE agencies ADD COLUMN mfa_required boolean NOT NULL DEFAULT false;
