-- Reserved for erased messages; filled in by the change that builds it.
SELECT 1;
