-- A member's own settings of a session (MemberSettingsChanged): muted stops
-- offline notifications. The sessions projection owns the column; a member
-- removed loses the row, so one added again starts unmuted, as in the
-- domain's state. The default rewrites no row.
ALTER TABLE rm_members ADD COLUMN muted boolean NOT NULL DEFAULT false;

---- create above / drop below ----

ALTER TABLE rm_members DROP COLUMN muted;
