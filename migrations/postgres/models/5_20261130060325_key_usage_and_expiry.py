from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "api_key_usage_days" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "day" DATE NOT NULL,
    "uses" INT NOT NULL,
    "api_key_id" UUID NOT NULL REFERENCES "api_keys" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_api_key_usa_api_key_24fddc" UNIQUE ("api_key_id", "day")
);
CREATE INDEX IF NOT EXISTS "idx_api_key_usa_day_d87ad5" ON "api_key_usage_days" ("day");
COMMENT ON TABLE "api_key_usage_days" IS 'How many times a key was used on one UTC day (written by the tracker''s flushes; kept';
        CREATE TABLE IF NOT EXISTS "api_key_workflow_uses" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "workflow_id" VARCHAR(200) NOT NULL,
    "day" DATE NOT NULL,
    "uses" INT NOT NULL,
    "last_used_at" TIMESTAMPTZ NOT NULL,
    "api_key_id" UUID NOT NULL REFERENCES "api_keys" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_api_key_wor_api_key_f89ff5" UNIQUE ("api_key_id", "workflow_id", "day")
);
CREATE INDEX IF NOT EXISTS "idx_api_key_wor_day_e73a6d" ON "api_key_workflow_uses" ("day");
COMMENT ON TABLE "api_key_workflow_uses" IS 'How many times a key was used to run one workflow on one UTC day, and the latest time';
        ALTER TABLE "api_keys" ADD "last_used_address" VARCHAR(64);
        ALTER TABLE "api_keys" ADD "last_used_user_agent" VARCHAR(256);
        ALTER TABLE "api_keys" ADD "expires_at" TIMESTAMPTZ;
        ALTER TABLE "api_key_events" ADD "key_expires_at" TIMESTAMPTZ;"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        ALTER TABLE "api_keys" DROP COLUMN "last_used_address";
        ALTER TABLE "api_keys" DROP COLUMN "last_used_user_agent";
        ALTER TABLE "api_keys" DROP COLUMN "expires_at";
        ALTER TABLE "api_key_events" DROP COLUMN "key_expires_at";
        DROP TABLE IF EXISTS "api_key_workflow_uses";
        DROP TABLE IF EXISTS "api_key_usage_days";"""


MODELS_STATE = (
    "eJztXWtv27Ya/iuEviwDcoLYua47OICduKtPW3tInLNLUyiMRNuCZdITqTo+Xf77XlKSra"
    "sjOXYnawKK1iL5UtTD2/NeyH7VpswkNj9qzaz3ZKG9QV81iqcEfsRyDpGGZ7NVukwQ+NFW"
    "RfHM0idkoRLxIxcONgSkD7HNCSSZhBuONRMWo5BKXduWicyAghYdrZJcav3hEl2wERFj4k"
    "DGp08am1P4CbmyXfIt2ufP8GRRkzwRLsvIx9lEH1rENiNfYJlSTqXrYjFTaXd33eu3qqRs"
    "w6NuMNud0lXp2UKMGV0Wd13LPJIyMm9EoClYEDP0bbLpPgxBkvcZkCAclyybaq4STDLEri"
    "0R0v49dKkhgUHqTfKv0//4TQsV0/Vef6Dfdga6rhUA1GBUdoZFhQTq67NX7woQlarJF1y9"
    "a90cnJx/ryBgXIwclang0p6VIBbYE1Wgr1BW/yZwvhpjJx3noHwMaWjoJhgHCSuQV6MugC"
    "8AaAeQalP8pNuEjsQYHs9P10D8v9aNQvn8VKHMYJJ4s6fn5zRVlgQ7Cq4a9AUBDmQqCHLz"
    "7DwHylAqE2aVF8U53LICUMfENkLbXxTKCfbZ8XEOsKFUJtgqLwq2xZfNTmDdZswmmGYs0R"
    "HBGNqPILmrwb1M+barcrvf/yBrnnL+h60SuoMYzncf252bg4aCHwpZQiV3e4MY5rAe6GPM"
    "x0VGd1hmOwvJyzviHq/VEi7DmgFzEeQpbWhbFDuLbKijsvHRvRCE7+HavW50f+i3I6MbsG"
    "13e62b3w4+tn5VwE8XftaHfu+noHyYn7R/G3RaKf1gYy70IXOdouM9IljB3TPPqM8e9Ikx"
    "bzhEIqHjlPF+DTnCmpJ0sKOSMaRNX/Qo+LGPuMMHmn1qL/xlbg3wg+7Hzu2g9fHnyHS4bg"
    "06MqcZmQlB6kGc3ywrQb90B++QfES/93ud+JRZlhv8rsk2YVcwnbK5js3QihykBqhFet2d"
    "mRv2elSy7vWy9HqAUajb/davel0tjS7fqN/jslvo+ZLx5v3t6OT8DvWWaUK9vMgumipcPc"
    "1o+/xxBRz85egY0EmZZ3mAj8pXD/udmAAcJjbc1KKS9dJW5qWNPM0sqG6DXo5K1r1c5l52"
    "yBc22WwuRyTrXi5zL9sET3TXsQttkiGZCm6Mx6eXeXZGKJa9NarM5yTSnLmOUcjVExOrIN"
    "67ICIKNYfMmLMZHUmTrxeyMi9kysetp7mrs+dWWKaCdsrm2VmumXW2ZmadyZklowOGk1TP"
    "9TK0IIr5W+YQa0TfE89W34VWYpq6gvkhEv2gnj1D/DkYU0HqapY7eL4MqIgMNfh6+GbiuZ"
    "muWrdXreuOpkB+xMZkjh1Tz0Db5aCR6iZepFgT2r7s2/c3xMYZ7tRIQMqdrO0aLyoEe2RJ"
    "mDNnMrRhGQFdfiuA/eJXeMf30ayaCzMHtjIHtjxODPj5StRuvMpuVV1VQkzOVdZkoTkamb"
    "3JrGlzGk/BFGaf6b9bviky1DpfiHpdRiyZl32YI6BMJ7JovrAyrU8JgtLOArEhwkjawL7j"
    "CLumJZBEwD5CPYaG3uKOoHYkGBJjIn++Qd6bEHOFbX0hyBJHWgzmnbwgJeQtFt0WioCDFf"
    "hzoWC3tjXqUlEg3M2iiaHubwjl9eqPZBP+9UOzeXJy0Tw+Ob88O724OLs8vjyUVBjyklkX"
    "67zS3Z9k9ESEVAThFNlBcBP4+EKuZr98BZlbI49K1MjWiBoJhUiuBMViOVcS24znLMeKvl"
    "H4ZhTMoiGbYZkKjtjtu3KMMaawQQZLRQGok5LfDnBN21O4R1CKSNrHaBramXtgQu7l7bD8"
    "hhF/Q2w2Ti9OL0/OT5f74DJl3faXjBx0gLlgG4akVSg0NiZWPdvf9ve52p5d27P/Zrx3Yc"
    "9WitzGbtekdG3LLrMt27AtUHQ3CRxKSlZvgm2f+2wWK1T1CKGzRjPPuZVGM/vcisyLQs0M"
    "w3WcjXxyMdEKBr5WaQ2r/XG1P65EJvvDLfrjdm/9X3rmMh0AYd/dyz6AqN/wZT/AOzZH0M"
    "QFkgspR1hZ4ueYS4O9iRiFPwTdDa4QVIkO5o4lBKHocaFM9bLuibLrD22Xjwn/EcRnIuEL"
    "2MVL7umQOeiHYynDv89yD3wKgFFtwsnj8J9WqbWjoHSOAhOnnOWW3CHjgDFOO8Yd4Qv7u9"
    "CloSr3/yTDLWLUC4pvZMsrG1LbNuYFi2oxd0pUqnaprKcxofX5lURmdffKfuL6IpOJDqzy"
    "cZlw0EwmnYlF1rzMaBKxPa8lNYIhx/U4R1B3jIMcIkxNRT5sGEVcoEDLLMBqNnzLPc3Jf1"
    "Bh+rME0hs/NRvaNzYU68C8unZMrIrqdq57V5pr7l1pJu9dqblnzT3/Ru5ZsvPjZYO7SgbU"
    "Ws2o1YxazcihZnim6hTVYmnDzlYnlBk4p/7QQjOg5ECwpypuGc3HDI2B2AvmGmPJ7ccWR5"
    "DxxTLIj+jBMh8QJEiyDjsal/dTCjYhFCj7A3cfH5LB0dt+wT29pwPIdUDJIE8WFyAto6mx"
    "kJHUzgJ5gXJSKVmGYssrSJGBKbKZMUGWeOOV9544NAkeJoTMOFSuwe8pzDfUU2KH8BIA0F"
    "4odcYfqPeaGk0gCLqLQ2DIy2ZILUUWUp+JHUdGcwcaSs6Y7kLaSDYN3ib7LdHNbFtzNa3T"
    "POqLq7J7Yz+vMMq6uCqxheY5rBa+0fi1J6/2cAjkOm61OpzzWoSWJ4KqAtMuKUP0YFoKdU"
    "icXMumECkn5vJwCZgZ36mNcApboCeL8FDI/RCpy3Cg5BvYgBEXlm0j2K8t+DiOXArP6GEV"
    "zveADiQFUHHYKZRiJ++5pzMox8xQHQjzCXAUeNEh+j9xmGQVXA5vzxbpmTUx5XPgW6jz68"
    "/dm8613xDJMHKf5ApR9lBIY7Zxsr60dUfhc2sOcpXhEteShdatM/vu6A7XEl3TVNJNp+x0"
    "LJedqL6n6Z/Qy7U1sLYG1tbAPEEHQEyNcRqn93PWknm8KrPV/4PnNcarf4of/ZVOsmw+Cj"
    "oNL/ifkoREqugZ3551MLx6zoog7BevILqNXHEHjTVxB41k3AG8UaSeT/rvbb+XYWRdicS5"
    "nWUI9CeyLb7HFqM0cCUYEUYXYLrUpEJwX6XoUbKCdhpL+Jab2fNfHCqNxg=="
)
