from zeroshot_news.cli import main

if __name__ == "__main__":
    main()
