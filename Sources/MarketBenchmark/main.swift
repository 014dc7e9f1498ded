import CodexMarket
print("placeholder")
