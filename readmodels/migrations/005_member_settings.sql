-- Reserved for the member settings of issue 14 (mute); filled in by the change that builds it.
SELECT 1;
