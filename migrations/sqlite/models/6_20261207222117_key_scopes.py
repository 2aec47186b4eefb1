from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        ALTER TABLE "api_keys" ADD "allowed_addresses" TEXT;
        ALTER TABLE "api_keys" ADD "workflow_ids" TEXT;
        ALTER TABLE "api_key_events" ADD "allowed_addresses" TEXT;
        ALTER TABLE "api_key_events" ADD "workflow_ids" TEXT;"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        ALTER TABLE "api_keys" DROP COLUMN "allowed_addresses";
        ALTER TABLE "api_keys" DROP COLUMN "workflow_ids";
        ALTER TABLE "api_key_events" DROP COLUMN "allowed_addresses";
        ALTER TABLE "api_key_events" DROP COLUMN "workflow_ids";"""


MODELS_STATE = (
    "eJztXW1v2zgS/iuEvmwWyAWx87rdwwF24m59be1F4tx2tykURqJtwTLpFak6vl7++w1pyX"
    "p3JMfuyloBRWuRHIp6+DIPZ4bsN23KTGLzo9bMek8W2hv0TaN4SuBHLOcQaXg2C9JlgsCP"
    "tiqKZ5Y+IQuViB+5cLAhIH2IbU4gySTccKyZsBiFVOratkxkBhS06ChIcqn1p0t0wUZEjI"
    "kDGZ8/a2xO4SfkynbJt2hfvsCTRU3yRLgsIx9nE31oEduMfIFlSjmVrovFTKXd3XWv36qS"
    "sg2PusFsd0qD0rOFGDO6Ku66lnkkZWTeiEBTsCBm6Ntk0z0Y/KTlZ0CCcFyyaqoZJJhkiF"
    "1bIqT9c+hSQwKD1JvkX6f/8poWKqbrvf5Av+0MdF0rAKjBqOwMiwoJ1LfnZb0BICpVky+4"
    "ete6OTg5/1FBwLgYOSpTwaU9K0Es8FJUgR6grP5N4Hw1xk46zn75GNLQ0E0w9hMCkINR58"
    "PnA7QDSLUpftJtQkdiDI/np2sg/k/rRqF8fqpQZjBJlrOn5+U0VZYEOwquGvQFAfZlKghy"
    "8+w8B8pQKhNmlRfFOdyyAlDHxDZC21sUygn22fFxDrChVCbYKi8KtsVXzU5g3WbMJphmLN"
    "ERwRjajyC5q8G9Svm+q3K73/8ga55y/qetErqDGM53H9udm4OGgh8KWUIld3uDGOawHuhj"
    "zMdFRndYZjsLycsacY/XagmXYc2AuQjylDa0LYqdRTbUUdn46F4Iwvdw7V43uj/025HRDd"
    "i2u73Wze8HH1ufFPDThZf1od/7xS8f5ift3wedVko/2JgLfchcp+h4jwhWUHvmGfXZgz4x"
    "5g2HSCR0nDLeryFHWFOSDnZUMoa06Yke+T/2EXf4QLNP7YW3zK0BftD92LkdtD7+GpkO16"
    "1BR+Y0IzPBTz2I85tVJei37uAdko/oj36vE58yq3KDPzTZJuwKplM217EZWpH9VB+1SK+7"
    "M3PDXo9K1r1ell73MQp1u9f6oNfV0ujyjfo9LruFni8Zb97fjk7O71BvmSbUy4to0VTh6u"
    "2Mts8fA+DgL0fHgE7KPMsDfFS+etjvxATgMLGhUotK1ktbmZc28jSzoLoNejkqWfdymXvZ"
    "IV/ZZLO5HJGse7nMvWwTPNFdxy6kJEMyFVSMx6eXeTQjFMtWjSrzOYk0Z65jFHL1xMQqiP"
    "cuiIhCzSEz5mxGR9Lk64WszAvZnDmToQ0ylpmy1RqQJ5He03G5Kkywdf3a+TSIdKk/jdLt"
    "xX7x0LS7kibk6GzDNgAYbFZJoQ5IFa57oXgvqCgPPS1gI1u7hGUqaKlvnp3l0i1na3TLmd"
    "QtMj5mOEmN3VgF10Qxf8scYo3oe7L0VnWhlZim6nAvSKjv17NniD/7Y8pPDWaig+erkKLI"
    "UIOvh28mS0frVev2qnXd0RTIj9iYzLFj6hlouxyPiG7iRcoa0/Zk376/ITbOCCiIhGTdyd"
    "qu8aJCsKcrRTd1US4O2G9ehXd8Hx0LuTBzgMw5oI84MeDnK1G7WVZ2q+qqEmJyrrImC83R"
    "yOxNZk2b03gKpjD7TO/d8k2Rodb5StTrMqIpl9mHOUIqdSKL5gus1PqUICjtLBAbIoykFf"
    "gHjrBrWgJJBOwj1GNouFzcEdSOBENiTOTPN2j5JsRcYVtfCbLEkRaDeScvSAn6jMV3hmJA"
    "YQX+Uijcs22NujSDvKUyB4smhrqnEMob1zKSTfjHT83myclF8/jk/PLs9OLi7PL48lBuBi"
    "EvmXWxLi6j+4uMH4qQCj+gKDsMdAIfX4S9+eUryNwaeYwCjWybQCNhEpArQbFo5kBimxHN"
    "5VjRNwpgjoJZNGg5LFPBEbt9Z6YxxhQUpL9UFIA6Kfn9ANe0PYV7BKWIpH2MpqGdqQMTci"
    "+rw/IbLzyF2GycXpxenpyfrvTgKmWd+kvGzjrAXLANQ9IqFBweE6uCWWjXeq726NQenb8Y"
    "7114dNRGbuPAg6R07c2pvTn736+1N6eqvWDYFqFik+DRpGQV8N81+98sXrTqUaJnjWaes4"
    "uNZvbZRZkXc1Qahus4G8VlxEQrePihSlq89kjXHukSOa0Ot+iR3r3/a+WbznSBhb3XL3vB"
    "op7zlz1h79gcQRMXSC6kHGHli5pjLl1WJmIU/hB0N7hCUCU6mDuWEISix4VyVsm6J8qzNb"
    "RdPib8ZxCfiYQ3bBcvuadD5qCfjqUM/zHLQfbZB0a1CSevRPkcpNaustK5ykyccp+H5A7p"
    "4HvF1/GF/V3o0lCV+j/JcIuYtd30zVs+a3bZkNq2OdtfVIs5FKNStVNxPY0Jrc+vJDLB/V"
    "v7ieuLTCY6sMrHZcJhY5l0JhZb9jKjSUS3vZbUCIYcd8k5/LpjHOQQYWoq8mHDKOIC+bvM"
    "Aqxmw7fc05z8BxWmPyGrac2G9pENxTow7147JlbF7Xauu7eaa+7eaibv3qq5Z809/0LuWb"
    "I7RMoGd5UMqPU2o95m1NuMHNuMpak6ZWuxsmFnbyeUGTjn/qGFZkDJgWBPVeQ+mo8ZGgOx"
    "F8w1xpLbjy2OIOOrZZCf0YNlPiBIkGQdNBqXdxQLNiEUKPsDdx8fkscDtv2Ce3pPB5DrwC"
    "aDPFlcgLQ8T4CFPEvgLNAyVFRuSlaHEeQ11MjAFNnMmCBLvFmWXz5xaBI8TAiZcahcg99T"
    "mG+op8QO4SUAoL1Q2xlvoN5rajSBIOxdHAJDXjZD7lJkIfWZ2HHkeQZ/h5LzVEOh3Ug2Dd"
    "4m+y3R7ZxbczWt23nUlxdm98Z+XmOXdXlhQoXmOa4ZvtX+tWcP93AI5DpwGBxPey1CqzNx"
    "VYFpl5QhejQzhTokzm5mU4iUM6N5uATMjB+UIpyCClzKIjwUUh8idSEalHwDChhxYdk2An"
    "1twcdx5FJ4Rg9BQOsDOpAUQJ1ESKEUO3nPPZ1BOWaG6kCYT4CjwIsO0X+JwySr4HJ4L22R"
    "S7MmpnwOfAt1Pv3avelcew2RDCP3WcYQZQ8F9WYbJ+uLu3cUPrfmKGMZLvIuWWjdOrPvju"
    "7xLtFVfSVVOmWnY7nsRPVdfX+HXq6tgbU1sLYG5gk6AGJqjNM4vZezlszjoMxW/x+21xiv"
    "/i5+9Fc6ybL5KOxpeMH/mCokUkXP+Pasg+HVc1YEYa94BdFt5Io7aKyJO2gk4w7gjSL1fN"
    "K/b/u9DCNrIBLndpYh0P+QbfE9thilgSvBiDC6xGm8+MG7GEmQFbTTWML3VGbP/we5AXs8"
)
