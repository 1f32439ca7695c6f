-- Version 3 of the read models changes nothing: it keeps the sequence of
-- versions without a gap below version 4.

SELECT 1;

---- create above / drop below ----

SELECT 1;
