from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "api_key_events" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "kind" VARCHAR(16) NOT NULL,
    "key_id" CHAR(36) NOT NULL,
    "key_name" VARCHAR(64) NOT NULL,
    "changed_fields" VARCHAR(64) NOT NULL,
    "grace_seconds" INT,
    "revealed_in" VARCHAR(16),
    "client_address" VARCHAR(64),
    "user_agent" VARCHAR(512),
    "occurred_at" TIMESTAMP NOT NULL,
    "owner_id" VARCHAR(255) NOT NULL REFERENCES "owners" ("id") ON DELETE CASCADE
) /* One entry of a user's audit trail. No foreign key to the key: events outlive it. */;
CREATE INDEX IF NOT EXISTS "idx_api_key_eve_owner_i_32348d" ON "api_key_events" ("owner_id", "id");"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        DROP TABLE IF EXISTS "api_key_events";"""


MODELS_STATE = (
    "eJztW21z2jgQ/isaf2k6k8sEEpJc7uZmIKEtlwY6Cb3rSzqOYgvQYCTXkptwvfz3Wwkbv1"
    "NMSAc4viR4tWvJj1ar9bPyd2PEbeKIvbpLL8jYOEXfDYZHBH6kWnaRgV03kiuBxHeOVsUu"
    "NYdkrIX4TkgPWxLkPewIAiKbCMujrqScgZT5jqOE3AJFyvqRyGf0q09MyftEDogHDZ8/G/"
    "yewU9oVeNSvRhfvsAVZTZ5IELpqEt3aPYocezEE1Bb2Wm5Kceulr1/3zp/pTXVGO5Mizv+"
    "iEXa7lgOOJuq+z6195SNausTGAqWxI49mxp6AEMomjwGCKTnk+lQ7Uhgkx72HYWQ8XvPZ5"
    "YCBume1J/DP4KhxdRMs93pmtfNrmkaJQC1OFOTQZlUQH1/nNw3AkRLDdXB2Zv61c7B0UsN"
    "ARey7+lGDZfxqA2xxBNTDXqEsv6fwflsgL18nEP9FNIw0EUwDgURyJHXhfCFAD0DpMYIP5"
    "gOYX05gMujwxkQ/1W/0igfHWqUOSySyeppBy1V3aTAToKrnb4kwKHNBoJcrR3NgTJoFcKs"
    "25I4x0dWAuqU2UJoB0FhNcGu7e/PATZoFYKt25JgUzEddgbrBucOwawgRCcMU2jfgeVzOf"
    "dU8nOjcqPTeavuPBLiq6MFrW4K5/eXjebVTkXDD0pUanGr3U1hDvHAHGAxKOPdcZvlBJIf"
    "74hrHKsVXBZ1IXOR5CHPtSnD3rgY6qRt2rvHkog1jN2zvPttp5HwbsC20WrXrz7uXNY/aO"
    "BH46Dpbaf9OtSP5yeNj91mPWceHCyk2eO+V9bfE4YbuHvO4/XFTp/xecsjCgkT5/j7ObRI"
    "OiL5YCctU0jbgele+GMdcYcHtDvMGQdhbgbw3dZl87pbv3yXWA7n9W5TtVQTKyGU7qTzm+"
    "lN0N+t7hukLtGnTruZXjJTve4nQ40J+5KbjN+b2I5F5FAaopaYdd+1F5z1pOV21ldl1kOM"
    "YtMejD6adR0afbHQvKdtlzDzK5Y3r+9EZ9e3x+WC6ztpuZ3lVZ5lzayZeSRZcYoUt9nA7K"
    "haq83FLdRmcAs1lSMpTrI3zOXLpoRmEvNX3CO0zy7I5A2hBaPEzMpjygJithPeZ80Qfwx9"
    "KpRGq9zD91MaN+Fq8PTwzGTycntWvz6rnzcNDfIdtob32LPNArQ9CDQeBCRBIOGUIuetLL"
    "jBq4sr4uACJieA/Gpys2t9rw2CXiPJqzyGYALbbNOoOkpLMMN9/Uiqb9VTooDQ/EZ0dwX1"
    "hUnz7hxFBpMo1flKDUaHEQTa3hjxHsIIEhDvhUDYt6lECgFnD7U56k2WHoK7I8mRHBD18x"
    "RNekLclw79RhCVe0YK5mfpIKcMkqp4xKoisD6+lCqANGi/xWSJEghlGVcPluvqMj19NYRf"
    "fq1WDw6Oq/sHRye1w+Pj2sn+Cejq8WabjmcxFa3XilFLhPyQYisujAzh4UvRD4H+Bu6rlX"
    "ko+0oxY1/JEPYqEpSr70UWy6zxrUZEX6iklwSzbBkvbrOBHrt8etgaYAYbZBgqSkCdtfx5"
    "gBvGmsLdBy2i0j7O8tAu3AMzdj/eDlf/tTXYEKuVw+PDk4Ojw+k+OJXM2v6y1SQPMhfsgE"
    "vSUuXSlNnmlUuXv89ZDoUcUb3WQ/guFzUylpuH9/LDhsrgTXiRYTnUVzHWSavNw7lWqc5z"
    "DKBSLT4GoNqSUHPL8j1vIZoxZbqBdYQt0bglGrdE48oTjc9JnE1wz6HMphNSTJbpZ5qTJK"
    "sj18Gyx72R5q/Q/YCjARZIct8aEBvJARUIGr5Ri/yGbql9i0CgSCwBiYU6uyr5kLAXAt0K"
    "/+42S5Itu4MbdsO60Orxe0QeqJBgrVg1LBWj5o3R5IVJUW1TSk4dT0YWZsjh1hBReTrRn1"
    "wJGBJcDAlxBdzcgN8jiIGorc12oRMA0BkjzggK3PTG0L4EhoQhj4DDq2HAM2ol/ZjY8xSr"
    "F/J4c3J7pci84vi5zMi5Qqe2lhY3d2cQd9tDLcWzsZ7HG4oOtWR2z3lKSvGvHRavJUXfVa"
    "yZCxQWkeIpX1SkeSpC08rQpsD0nClDskCZkzpkKpjFKURO5XSeXAJWxgu9EY5gC5zYItyT"
    "aj9E+nQIaJ7CBoyEpI6DYL+m8HAC+Qyu0S15cKFXARH0Fu2oFEDzcTkpxbP0c8Nc0ON27B"
    "4IiyHkKNDRLvqHeFxlFUK5N7LxWLzcRZiBOhP3kG+h5od3ravmeTAQlWHMXdELoopSj8Y2"
    "o7a3PdD9TFxQcV4Qm5eSeUHScgPzgjXJA+aiK8KDBuXKi0mrbYlxNjcRi3ZPZCc2Lo/aTd"
    "ETScdaJYKiDnulNchLM4KWmfkFjnSW+snwU96n/y8nY55YCCzeIiHNEiW/oYyZbIneWYRF"
    "PHq6ZRAO1DcQ3cpcn6dWZnyeWsl+ngo9ytz635/XnXYB7xOZpJM7akn0L3KoWOOX2DxwFR"
    "iJjC7EdPrxXgzus5xP99QNGnlZws/czB7/A+/Zmmw="
)
