-- v9 is another branch's (numbers are handed out by the lead): this no-op
-- holds its place so that 0010 builds here, and goes when that branch's
-- 0009 is merged.
SELECT 1;
