-- Reserved for per-session retention and expiry; filled in by the change that builds it.
SELECT 1;
