-- Server-wide settings shared by every node, such as the generated JWT secret.
CREATE TABLE IF NOT EXISTS tellyou_settings (
    key   text PRIMARY KEY,
    value text NOT NULL
);
