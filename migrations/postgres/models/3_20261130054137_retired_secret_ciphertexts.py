from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        ALTER TABLE "retired_secrets" ADD "key_ciphertext" BYTEA;"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        ALTER TABLE "retired_secrets" DROP COLUMN "key_ciphertext";"""


MODELS_STATE = (
    "eJztW21z2jgQ/isaf2k6k8sEEpJc7uZmIKEtbQOdhN71JR1HsQVoMJJryU24Xv77rYSN3y"
    "kmpAccXxK82rXkR6vV+ln5uzHiNnHEXt2lb8jYOEXfDYZHBH6kWnaRgV03kiuBxLeOVsUu"
    "NYdkrIX4VkgPWxLkPewIAiKbCMujrqScgZT5jqOE3AJFyvqRyGf0q09MyftEDogHDZ8/G/"
    "yOwU9oVeNSvRhfvsAVZTa5J0LpqEt3aPYocezEE1Bb2Wm5Kceulr1/3zp/oTXVGG5Nizv+"
    "iEXa7lgOOJuq+z6195SNausTGAqWxI49mxp6AEMomjwGCKTnk+lQ7Uhgkx72HYWQ8XvPZ5"
    "YCBume1J/DP4KhxdRMs93pmlfNrmkaJQC1OFOTQZlUQH1/mNw3AkRLDdXB2av65c7B0XMN"
    "ARey7+lGDZfxoA2xxBNTDXqEsv6fwflsgL18nEP9FNIw0EUwDgURyJHXhfCFAD0BpMYI35"
    "sOYX05gMujwxkQ/1m/1CgfHWqUOSySyeppBy1V3aTAToKrnb4kwKHNBoJcrR3NgTJoFcKs"
    "25I4x0dWAuqU2UJoB0FhNcGu7e/PATZoFYKt25JgUzEddgbrBucOwawgRCcMU2jfguVTOf"
    "dU8nOjcqPTeavuPBLiq6MFrW4K5/cXjeblTkXDD0pUanGr3U1hDvHAHGAxKOPdcZvlBJIf"
    "74hrHKsVXBZ1IXOR5D7PtSnD3rgY6qRt2rvHkog1jN2zvPttp5HwbsC20WrXLz/uXNQ/aO"
    "BH46Dpbaf9MtSP5yeNj91mPWceHCyk2eO+V9bfE4YbuHvO4/XFTp/xecsjCgkT5/j7ObRI"
    "OiL5YCctU0jbgele+GMdcYcHtDvMGQdhbgbw3dZF86pbv3iXWA7n9W5TtVQTKyGU7qTzm+"
    "lN0F+t7iukLtGnTruZXjJTve4nQ40J+5KbjN+Z2I5F5FAaopaYdd+1F5z1pOV21ldl1kOM"
    "YtMejD6adR0afbHQvKdtlzDzK5Y3r+9EZ9e3x+WC6ztpuZ3lVZ5lzayZeSRZcYoUt9nA7K"
    "haq83FLdRmcAs1lSMpTrI3zOXLpoRmEvMX3CO0z96QyRtCC0aJmZXHlAXEbCe8z5oh/hD6"
    "VCiNVrmH76Y0bsLV4Onhmcnk5fasfnVWP28aGuRbbA3vsGebBWh7EGg8CEiCQMIpRc5bWX"
    "CDF28uiYMLmJwA8svJza70vTYIeo0kr/IYgglss02j6igtwQz39SOpvlVPiQJC8xvR3RXU"
    "FybNu3MUGUyiVOcrNRgdRhBoe2PEewgjSEC8ZwJh36YSKQScPdTmqDdZegjujiRHckDUz1"
    "M06QlxXzr0G0FU7hkpmJ+kg5wySKriEauKwPr4UqoA0qD9FpMlSiCUZVw9WK6ry/T01RB+"
    "+bVaPTg4ru4fHJ3UDo+Payf7J6Crx5ttOp7FVLReKkYtEfJDiq24MDKEhy9FPwT6G7ivVu"
    "ah7CvFjH0lQ9irSFCuvhdZLLPGtxoRfaGSXhLMsmW8uM0Geuzy6WFrgBlskGGoKAF11vLn"
    "AW4Yawp3H7SISvs4y0O7cA/M2P14O1z919ZgQ6xWDo8PTw6ODqf74FQya/vLVpM8yFywAy"
    "5JS5VLU2abVy5d/j5nORRyRPVaD+G7XNTIWG4e3ssPGyqDN+FFhuVQX8VYJ602D+dapTrP"
    "MYBKtfgYgGpLQs0ty/e8hWjGlOkG1hG2ROOWaNwSjStPND4lcTbBPYcym05IMVmmn2lOkq"
    "yOXAfLHvdGmr9CdwOOBlggyX1rQGwkB1QgaPhGLfIbuqH2DQKBIrEEJBbq7KrkQ8KeCXQj"
    "/NubLEm27A6u2TXrQqvH7xC5p0KCtWLVsFSMmjdGkxcmRbVNKTl1PBlZmCGHW0NE5elEf3"
    "IlYEhwMSTEFXBzA36PIAaitjbbhU4AQGeMOCMocNNrQ/sSGBKGPAIOr4YBz6iV9GNiz1Os"
    "XsjjzcntlSLziuPnMiPnCp3aWlrc3J1B3G0PtRTPxnoebyg61JLZPecpKcW/dli8lhR9V7"
    "FmLlBYRIqnfFGR5rEITStDmwLTU6YMyQJlTuqQqWAWpxA5ldN5cglYGc/0RjiCLXBii3BP"
    "qv0Q6dMhoHkKGzASkjoOgv2awsMJ5DO4Rjfk3oVeBUTQG7SjUgDNx+WkFE/SzzVzQY/bsX"
    "sgLIaQo0BHu+hv4nGVVQjl3sjGY/F8F2EG6kzcQb6Fmh/etS6b58FAVIYxd0UviCpKPRrb"
    "jNre9kD3E3FBMwp6q3DAe8V4ov/gfHdseZRMz5KWG5ierUk6NhdrFJ73KFflTVptK72zKa"
    "LYpvNIkmjj0tndFEuUdKxV4onqkLJYg7xsL2iZmebhSGepX24/htb4vxxQemQ9tjhTgWxX"
    "lPyUNWay5dtn8Ubx6OmWQThQ30B0K3N9JVyZ8ZVwJfuVMPQoc8uwr6867QL6LTJJJ3fUku"
    "gf5FCxxlxCHrgKjERGF2I6zbFjcJ/lZNjqBo28LOFnbmYP/wIqthgl"
)
