from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "owners" (
    "id" VARCHAR(255) NOT NULL PRIMARY KEY,
    "created_at" TIMESTAMP NOT NULL
) /* A platform user who has touched this service; `id` is the session token's `sub`. */;
CREATE TABLE IF NOT EXISTS "api_keys" (
    "id" CHAR(36) NOT NULL PRIMARY KEY,
    "name" VARCHAR(64) NOT NULL,
    "name_key" VARCHAR(256) NOT NULL,
    "description" VARCHAR(500),
    "is_default" INT NOT NULL,
    "key_hash" VARCHAR(64) NOT NULL UNIQUE,
    "key_ciphertext" BLOB NOT NULL,
    "key_last_four" VARCHAR(4) NOT NULL,
    "created_at" TIMESTAMP NOT NULL,
    "updated_at" TIMESTAMP NOT NULL,
    "last_used_at" TIMESTAMP,
    "owner_id" VARCHAR(255) NOT NULL REFERENCES "owners" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_api_keys_owner_i_78cc60" UNIQUE ("owner_id", "name_key")
);
CREATE TABLE IF NOT EXISTS "aerich" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "version" VARCHAR(255) NOT NULL,
    "app" VARCHAR(100) NOT NULL,
    "content" JSON NOT NULL
);"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        """


MODELS_STATE = (
    "eJztmf9P2zgUwP8VK78cJ3FodC2bdqeTUii3HtBOELbbxhTcxG2spnYWO5SK43+/Zzffm/"
    "RaViaK+AWa9yV5/vjl2X65MybcJb7YMwN6QmbGO3RnMDwh8KOk2UUGDoJMrgQSD3xtigNq"
    "j8lMC/FAyBA7EuRD7AsCIpcIJ6SBpJyBlEW+r4TcAUPKRpkoYvR7RGzJR0R6JATF168Gnz"
    "L4CVoVl3qK8e0bXFHmklsilI26DMb2kBLfLYyAuspPy205C7Ts8rJ7dKwtVQwD2+F+NGGZ"
    "dTCTHmepeRRRd0/5KN2IQChYEjc3NhV6jCERzYcBAhlGJA3VzQQuGeLIV4SMP4YRcxQYpJ"
    "+k/jT/jEPLmdl2r2/ZFx3Lto01gDqcqcmgTCpQd/fz+2ZAtNRQDzh8b57vvD74VSPgQo5C"
    "rdS4jHvtiCWeu2roGWX9f4HzoYfDas6JfYk0BPoQxokgg5xlXYIvAfQISI0JvrV9wkbSg8"
    "uD5hLEH81zTfmgqSlzeEnmb08v1jS0SsEuwtVJvybgxOcZQm60DlagDFa1mLWuyDkf2Rqo"
    "S24Poh0XhacJu/Xq1QqwwaoWttYVYVORhr3Aus25TzCrKdEFxxLtAXg+VnKnkp9bldv9/q"
    "m680SI774WdK0S58uzdud8Z1/jByMqtbjbs0rMoR7YHhbeOtmd99lMIfn/FXGLa7XC5dAA"
    "di6S3FalNmU4nNWjLvqWs3smidjC2r0su0/77UJ2A9t2t2eef945M//R4CezWHXa7/2V2O"
    "f3J+3PVsesmAcfC2kPeRSum+8Fx2e4eq6S9fVJv5DzTkgUCRtX5PsRaCSdkGrYRc8SaTd2"
    "3Ut+bCN3GKDbZ/4sLnNLwFvds86FZZ59KLwOR6bVUZpG4U1IpDvl/U16E/Spa71H6hJ96f"
    "c65VcmtbO+GComHEluMz61sZuryIk0oVaY9ShwHzjrRc+XWX8qs54wyk17HH0267o0RuJB"
    "81723cDMP7F98/ZO9OL7rXsudlX7pH7xzPs8w3Wz0WqtdOpsLTl1ttTqqbpVw3FlJyVtdR"
    "WZH/OQ0BE7IfO9YxeixMyp6qHELbt+cp8tI36f5FQizd7yEE/TBl8h1WD0MGYyP/YcmheH"
    "5lHH0JAH2BlPcejaBdpKwxu8JEltF1WTxqQswQyPNB01DBV0gXtFDzWdkPoWqh7Tag1Uw0"
    "SBj+WQhxMEJTVEU48jOKchySPHIy6SHhUIFDfUIb+ja+peIxBIj4BQCNVslHxM2C8CXYto"
    "cL1nlGZn4w+4YlfMAm3Ip4jcUiHBm4M9lojckHCGHA+zEQEvhPUTwVP1k5GDGfK5M0ZUvp"
    "vbz68EhAQXY0ICATc34PcEaiDqabddeAgA9GeIM4LiNL0ydC6BI2EoJJDwKgwYozbSw8Rh"
    "SG9UFPP+s+ZS0ZP+kfZzff3cZOV8QsfsjdXN3SUt6JdTyHPbj9adQhZWz/pKn6VH/vNUqS"
    "UTex6fnBOoeNVt3IUPYVuWAnXL6v1jroUmCanjVS2GsWbpaogzm41+TvyR0t1lco3KrTCX"
    "UiXO6adbuEcqhN8a+803zbevD5pvwUSHmUreLKkeScu5vkrDSi/W/L6Sc3k5UyxbG/PFLl"
    "iHcGz+DOnur/Tpan/Jp6v9xU9X8ERJWMU24++Lfq9mi5G5lPcX1JHoX+TDhngLaS+Bq2AU"
    "NhEJ07Sxn8N9WNHWVzdoVx2Wf+bB7v4/GXRLCg=="
)
