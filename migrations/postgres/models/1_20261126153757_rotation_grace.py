from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "retired_secrets" (
    "key_hash" VARCHAR(64) NOT NULL PRIMARY KEY,
    "expires_at" TIMESTAMPTZ NOT NULL,
    "api_key_id" UUID NOT NULL REFERENCES "api_keys" ("id") ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS "idx_retired_sec_api_key_b8db34" ON "retired_secrets" ("api_key_id", "expires_at");
COMMENT ON TABLE "retired_secrets" IS 'A key''s former secret after a rotation: it still verifies until `expires_at` (the grace';
        ALTER TABLE "api_keys" ADD "rotated_at" TIMESTAMPTZ;"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        ALTER TABLE "api_keys" DROP COLUMN "rotated_at";
        DROP TABLE IF EXISTS "retired_secrets";"""


MODELS_STATE = (
    "eJztWm1T2zgQ/isafymd4ZiSAu1wNzeTQHrNAUknhLu20HGErcSaOJJryYQcx3+/lWzHL7"
    "HTJIRekuELxKtdafXsSrta6cEYcpu4Yq/q0TMyNo7Rg8HwkMCPXMsuMrDnJXRFkPjW1azY"
    "o+aAjDUR3wrpY0sCvYddQYBkE2H51JOUM6CywHUVkVvASFk/IQWMfg+IKXmfSIf40HB9bf"
    "ARg5/QqvRSoxjfvsEXZTa5J0LxqE9vYPYoce3MDKit5DTdlGNP066uGqcfNKfS4da0uBsM"
    "WcLtjaXD2YQ9CKi9p2RUW5+AKlgSOzU3pXoEQ0wKpwEE6QdkoqqdEGzSw4GrEDJ+6wXMUs"
    "AgPZL6c/B7pFqKzTSbrY55We+YprEAoBZnyhiUSQXUw2PYbwKIphpqgJOP1fbO26PXGgIu"
    "ZN/XjRou41ELYolDUQ16grL+P4XziYP9Ypxj/hzSoOgyGMeEBOTE62L4YoCeAVJjiO9Nl7"
    "C+dODz6GAGxH9V2xrlowONModFEq6eZtRS0U0K7Cy42ukXBDiW2UKQK4dHc6AMXKUw67Ys"
    "zmnNFoA6J7YU2tGmsJ5gH755MwfYwFUKtm7Lgk3FRO0prGucuwSzki06I5hD+xYkn8u5J5"
    "SfuyvXWq1z1fNQiO+uJjQ6OZyvLmr19s6+hh+YqNTkRrOTwxz2A9PBwlnEu9Myq9lIfhwR"
    "N3ivVnBZ1IPMRZL7ItemDPvjcqizsnnvHksiNnDvnuXd561axrsB21qjWW1/2bmoftbAD8"
    "dR03mr+UfMn85Pal869WqBHVwspNnjgb+ov2cEtzB6zuP15U4/5fOWTxQSJi7w91NokXRI"
    "isHOSuaQtiPRvfjHJuIOE7RbzB1H29wM4DuNi/plp3rxKbMcTqudumqpZFZCTN3J5zeTTt"
    "Dfjc5HpD7R11aznl8yE77OV0PphAPJTcZHJrZTO3JMjVHLWD3w7CWtnpV8sfq6WD3GKGX2"
    "SPvE6nprDMRSds/LrsDya5Y3b66hp9e3z+WS6zsr+WLldbayrqyZRUWy8hQpLbOF2VHl8H"
    "Cu2sLhjNrCocqRVE2yNyisl00KmlnMP3Cf0D47I+EJoQFaYmYVVcqiwmwr7mfDEH+MfSqm"
    "Jqvcx6NJGTfjajB7mDMJD7cn1cuT6mnd0CDfYmswwr5tlqDtw0bjw4YkCCScUhScyqIOPp"
    "y1iYtLKjkR5O2ws0vd1xZBr5HkFZ5CMIPtdNOwMsxTMMN9PSU1thop46cFNwsTBy6/WNA+"
    "MN+1glFFHtivx/0hgkTDRyOHIwcLJHlgOcRG0qECQcMdtcivqEvtLgKCdAgQhVAleMkHhL"
    "0SqCuC2+6ekYN05QPcsBvWgVafjxC5p0KCNAd+LBG5I/4YWQ5mfQJSCOsRQVLdsiALM+Ry"
    "a4CoPA75wy8BKsHHgBBPQOcG/B5CzEBNLbYLgwCA7hhxRlDkWzeGdgAQJAz5BLxUqQFz1E"
    "x6mtj36Z3SIryV0bgU3NQ85VKmPN6sMtKsUfFpZXFmd8bFzMvZvNwam3lKKzubT2Ub80TG"
    "9KXt8iExuR7eMBf4X2JhNoEoiIlTGUZ5bCzIbOYJkmDyV3qHH8LeHsoi3JNqo0f69Aacxx"
    "BZkJDUdREEIgqTEyhg8I265N6DUQVsDV20o2JbHwYkBbHyWca5YR7wcTvVB8JiAMEXBtpF"
    "/xCfq3ApIH4yZOOxeL2LMAN2JkaQSKD650+Ndv00UkSFzjnD2XW8XBR7olv4FqEwzr1cuD"
    "zThUt5wEvZZcGAl5XcwoC3IQFurrpFtBILKxflz3uyUqt85rO+pv3Bq54ZRYrUbvfEMsXW"
    "JQi7uTpF1rEWrVQ8Z7ZRhVhpOUVpRtQyM7/ACc9Kn/Q95aDYYHKBc6KyWc7vIgOub8jsKx"
    "V+qewfvDt4//bo4D2waDUnlHcz1nv87KM8REKaJRZ845QSean4zjqJp3dPbxGEI/YtRHd/"
    "rudj+zOej+1PPx+DESVhBTnen5etZklBIxHJJ3fUkuhf5FKxwQXdInAVGJmMLsZ08rgmBf"
    "dJwdMa1UGtKEv4mcHs8T/t/hDf"
)
