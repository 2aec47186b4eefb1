from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        ALTER TABLE "api_keys" ADD "revoked_at" TIMESTAMP;
        ALTER TABLE "api_keys" ADD "leak_source" VARCHAR(256);
        ALTER TABLE "api_keys" ADD "leak_reported_at" TIMESTAMP;
        ALTER TABLE "api_keys" ADD "leak_url" VARCHAR(2048);
        ALTER TABLE "api_key_events" ADD "leak_source" VARCHAR(256);
        ALTER TABLE "api_key_events" ADD "leak_url" VARCHAR(2048);
        ALTER TABLE "retired_secrets" ADD "revoked_at" TIMESTAMP;"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        ALTER TABLE "api_keys" DROP COLUMN "revoked_at";
        ALTER TABLE "api_keys" DROP COLUMN "leak_source";
        ALTER TABLE "api_keys" DROP COLUMN "leak_reported_at";
        ALTER TABLE "api_keys" DROP COLUMN "leak_url";
        ALTER TABLE "api_key_events" DROP COLUMN "leak_source";
        ALTER TABLE "api_key_events" DROP COLUMN "leak_url";
        ALTER TABLE "retired_secrets" DROP COLUMN "revoked_at";"""


MODELS_STATE = (
    "eJztXG1z2jgQ/isaf2k6w2UCCUkud3MzkNCWawOdhN71JR1HsQVoMJJryUm4Xv77rYQNfq"
    "WYQgscXxJb2rWkR6vV+lmZr8aQ28QR+zWXviYj4wx9NRgeErhI1JSQgV13Wq4KJL5ztCh2"
    "qTkgI12I74T0sCWhvIsdQaDIJsLyqCspZ1DKfMdRhdwCQcp60yKf0S8+MSXvEdknHlR8+m"
    "TwBwaXUKv6pVoxPn+GO8ps8kiEklG37sDsUuLYsRFQW+npclOOXF327l3z4oWWVH24My3u"
    "+EM2lXZHss/ZRNz3qb2vdFRdj0BXsCR2ZGyq6wEMYdF4GFAgPZ9MumpPC2zSxb6jEDJ+7/"
    "rMUsAg3ZL6c/RH0LWImGm22h3zutExTaMAoBZnajIokwqor0/j504B0aWGauD8Ve1q7/D4"
    "uYaAC9nzdKWGy3jSiljisaoGfYqy/p/C+byPvWycQ/kE0tDRRTAOC6YgT60uhC8EaAWQGk"
    "P8aDqE9WQfbo+PZkD8V+1Ko3x8pFHmsEjGq6cV1FR0lQI7Dq42+oIAhzpbCHKlejwHyiCV"
    "C7Oui+Mc7VkBqBNqC6EdOIX1BLt6cDAH2CCVC7aui4NNxaTbKazrnDsEsxwXHVNMoH0Hmq"
    "sy7knJj/XK9Xb7jXryUIgvji5odhI4v7usN672yhp+EKJSFzdbnQTm4A/MPhb9ItYd1VmO"
    "I/n2jrjBvlrBZVEXIhdJHrNMmzLsjfKhjusmrXskidhA3z3Lut+06zHrBmzrzVbt6sPeZe"
    "29Bn44CqretFsvQ/lofFL/0GnUMubBwUKaXe57Re09priFu+c8Vp9v9CmbtzyikDBxhr1f"
    "QI2kQ5INdlwzgbQdqO6HF5uIOwzQbjNnFLi5GcB3mpeN607t8m1sOVzUOg1VU4mthLB0Lx"
    "nfTB6C/m52XiF1iz62W43kkpnIdT4aqk/Yl9xk/MHEdsQjh6UharFZ9117wVmPa+5mfV1m"
    "PcQoMu1B76ezrl2jLxaa96TuEmZ+zeLmzZ3o9Pr2uFxwfcc1d7O81rNM7vlgsVmOae5meZ"
    "1nGd6mB6bvOUUC4ajO9nEalYOj03kYJBDLp5B05VMaaQGvDlYhPjShtoV4r4Kw06h5xOXe"
    "YhtVlv7Oka2zI9OJIDMrp5O/tqI6W/gyX6lW51pZ1Rkrq6pWlkqhdQeZ6Z1J/i2O+QvuEd"
    "pjr8mY0GpCLzHL9GBBHrEdPmfDEH8KbSosna5yDz9Mso4xU4PRw5jJmIs9r12f1y4ahgb5"
    "DluDB+zZZg7aHjgaDxySIBZcigwSMXjAi9dXxME5iYcA8qvxw671s7YIeo0kr/AIgjFs01"
    "XDyjBZghnu6SGptlVLsXx3457o5nLS4ePq0hw5cZMo0fky40abEQTS3gjxLsII3pe9ZwJh"
    "36YSKQScfdTiqDteegiejiRHsk/U5Rkat4S4Lx16TxCV+0YC5pU0kJG1TyToI0l8WB+fC+"
    "Xr67TXZLJAxp6ylKkHy3V9ExM91YVffq1UDg9PKgeHx6fVo5OT6unBaUkFKlCXrjqZRaw3"
    "X6oEUMzlhxmh/Dz+AAZfiC0P5LdwXy3PE7CW8+PVcipcVZ6g2HGUqcYyj6Ssh0df6ARKHM"
    "yip06iOltoscvPZlp9zGCDDF1FAajTmj8OcMPYULh7IEVU2MdZFtq5e2BK79vb4fq/tgYb"
    "YqV8dHJ0enh8NNkHJyWztr/04QcPIhfsgEnSQqd7Emrbx8wsf5/bsY07tvEn470KttFyKL"
    "z6KLYKopJim2FKc/sgX/5uqF5MTXg/Zxm8bj7Wca3tw7larsxzGLNcyT+MqeriUHPL8j1v"
    "IQ49obqFpzl2/PmOP9/x52vPn6+SDx7jnsEETyYknwPWY5qT+60h18Gyy72hpmXRQ5+jPh"
    "ZIct/qExvJPhUIKu6pRX5Dt9S+RVCguFkBgYX6gkjyAWHPBLoV/t1tmvtddgM37IZ1oNbj"
    "D4g8UiFBW5HFWCqi2BuhMQ+gGOQJ06w+EkMWZsjh1gBReTaWH98J6BLcDAhxBTzcgOsh+E"
    "DU0molaAQAdEaIM4ICM70xtC2BImHII2DwqhswRi2kh4k9T5HVIT09J2VdiKPO95/L9Jxr"
    "dHZ+aX6zNIOP3h0tzp+NzTxkmne0OLV7zpMpjX5zuniKdPp164aZQG5uNBryTXOP34vQJO"
    "G5LTCtMmSI590zQodUYj4/hMg4EDBPLAEr45neCIewBY51Ee5KtR8ifUYXJM9gA0ZCUsdB"
    "sF9TGJxAPoN7dEseXWhVgAe9RXsqBNA0c0ZIsZJ2bpgLctyOPANhMYAYBRoqoX+Ix1VUIZ"
    "R5IxuPxPMSwgzEmXiAeAs13r9tXjUugo6oCGPuRHXgVZT4tG8zUta7z+pWxAXNyFOvw2d2"
    "a8YT/YSv7CLLo2B4FtfcwvBsQ8Kx3UcCu1mOB9MFj6jEtXbHVGYTgZHQ4jupwK17aSkluM"
    "C4Ya0TG1iDwNTqZ8X0Qc3MYB5PZZb6K0nfQ179X05Xfudhkvx4FN5pRMGfjYmo7LIqs9jB"
    "qPd0iyAciG8huuW5fpGnPOMXecrpX+SBFmVmsv3P63Yrh2SdqiRjO2pJ9C9yqNhgxigLXA"
    "VGLKILMZ28SUXgPs94j1IPqGdFCT9yM3v6D7L3u+E="
)
