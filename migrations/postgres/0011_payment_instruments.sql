-- Reserved: filled in by the slice that needs it.
SELECT 1;
