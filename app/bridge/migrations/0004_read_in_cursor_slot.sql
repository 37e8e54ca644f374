-- The transactions of an address's history already read in its cursor's slot. A pass lists the
-- cursor's slot again (the node does not promise one order within a slot, so a pass cannot stop
-- at the cursor's own signature) but fetches only the transactions not read yet. Rows of older
-- slots are deleted as the cursor moves on.
CREATE TABLE ingest_read_in_slot (
    program TEXT NOT NULL,
    slot BIGINT NOT NULL,
    signature TEXT NOT NULL,
    PRIMARY KEY (program, signature)
);
-- A cursor already stored was read in its slot.
INSERT INTO ingest_read_in_slot (program, slot, signature)
SELECT program, slot, signature FROM ingest_cursor;
